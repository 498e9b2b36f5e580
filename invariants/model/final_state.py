"""The final state read after the run: the primary's rows and the network simulator's records.

Every money movement (charge, refund, payout) has a row on the primary and, once sent, records
on the network; the network's ``approved`` records are the money that really moved.
"""

from collections.abc import Callable, Hashable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args

import msgspec

from invariants.model.errors import RunFileError
from invariants.model.records import gc_paused, load_document, validation_problem

MovementState = Literal["PENDING", "PROCESSING", "SUCCEEDED", "FAILED"]
# Who resolved a movement: the request itself, or the worker's recovery by look-up.
Resolver = Literal["api", "recovery"]
NetworkOutcome = Literal["approved", "declined", "expired"]
MOVEMENT_STATES = frozenset(get_args(MovementState))
UNRESOLVED_STATES = frozenset({"PENDING", "PROCESSING"})
RESOLVERS = frozenset({*get_args(Resolver), None})
NETWORK_OUTCOMES = frozenset(get_args(NetworkOutcome))


class _Row(msgspec.Struct, frozen=True, gc=False):
    """A row of the final state: immutable, and never part of a reference cycle."""


class _MovementRow(_Row):
    """What a charge's and a payout's rows share, in the order final_state.json writes it."""

    id: str
    merchant: str
    idempotency_key: str | None
    amount: int
    currency: str
    state: MovementState
    failure_code: str | None
    resolved_by: Resolver | None


class Charge(_MovementRow):
    """A charge row on the PostgreSQL primary."""

    amount_refunded: int


class Refund(_Row):
    """A refund row on the primary; ``balance_seen`` is the balance its decision read.

    Its fields are its own: ``charge_id`` comes before ``amount`` in final_state.json.
    """

    id: str
    merchant: str
    idempotency_key: str | None
    charge_id: str
    amount: int
    currency: str
    state: MovementState
    failure_code: str | None
    resolved_by: Resolver | None
    balance_seen: int


class Payout(_MovementRow):
    """A payout row on the primary; ``balance_seen`` is the balance its decision read."""

    balance_seen: int


class _NetworkRow(_Row):
    """What an authorization's and a payout's network records share, in the order
    final_state.json writes it."""

    id: str
    reference: str
    amount: int
    currency: str
    outcome: NetworkOutcome
    decline_code: str | None


class NetworkAuthorization(_NetworkRow):
    """An authorization the card network recorded; ``reference`` is the charge id."""


class NetworkRefund(_Row):
    """A refund the card network recorded; ``reference`` is the refund id.

    Its fields are its own: ``authorization_id`` comes before ``amount`` in final_state.json.
    """

    id: str
    reference: str
    authorization_id: str
    amount: int
    currency: str
    outcome: NetworkOutcome
    decline_code: str | None


class NetworkPayout(_NetworkRow):
    """A payout the bank recorded; ``reference`` is the payout id."""


# What the checkers of every movement read, whichever its kind.
Movement = Charge | Refund | Payout
NetworkRecord = NetworkAuthorization | NetworkRefund | NetworkPayout


class IdempotencyKeyRecord(_Row):
    """An idempotency key row on the primary with its recovery point and the object it made."""

    merchant: str
    key: str
    recovery_point: str
    response_code: int | None
    object_id: str | None


class LedgerAccount(_Row):
    """A ledger account; ``merchant`` is ``None`` for the platform's own accounts."""

    id: int
    merchant: str | None
    kind: str
    currency: str
    balance: int


class LedgerEntry(_Row):
    """One signed entry of a ledger transaction (credits positive, debits negative)."""

    id: int
    transaction_id: int
    transaction_kind: str
    object_id: str
    account_id: int
    amount: int
    # The account's balance once this entry applied (None where the SUT did not record it).
    balance_after: int | None


class Transition(_Row):
    """One recorded step of a charge, refund or payout's state machine, in ``id`` order.

    ``from_state`` is ``None`` for the step that created the object.
    """

    id: int
    object_type: str
    object_id: str
    from_state: str | None
    to_state: str
    actor: str


class FinalState(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """Everything read after the run. ``read_time`` is nanoseconds since run start."""

    complete: bool
    errors: tuple[str, ...]
    read_time: int
    charges: tuple[Charge, ...]
    refunds: tuple[Refund, ...]
    payouts: tuple[Payout, ...]
    idempotency_keys: tuple[IdempotencyKeyRecord, ...]
    ledger_accounts: tuple[LedgerAccount, ...]
    ledger_entries: tuple[LedgerEntry, ...]
    # None when the list was not read (final states written before it was).
    transitions: tuple[Transition, ...] | None = None
    network_authorizations: tuple[NetworkAuthorization, ...]
    network_refunds: tuple[NetworkRefund, ...]
    network_payouts: tuple[NetworkPayout, ...]
    # Whether recovery left nothing PENDING or PROCESSING before the reads (None: not said).
    quiesced: bool | None = None

    @property
    def reads_complete(self) -> bool:
        """Whether every read succeeded, so that a missing row really is missing."""
        return self.complete and not self.errors

    @property
    def incomplete_reason(self) -> str | None:
        """Why the final reads cannot be trusted to be whole, or ``None`` when they can."""
        if self.reads_complete:
            return None
        errors = "; ".join(self.errors) or "none"
        return f"final state reads incomplete (complete={self.complete}, errors: {errors})"


def load_final_state(path: Path) -> FinalState:
    """Load and validate ``final_state.json``.

    >>> state = load_final_state(Path("reports/runs/latest/final_state.json"))  # doctest: +SKIP
    """
    with gc_paused():
        state = load_document(path, _DECODER)
        _check_identities(state, str(path))
        return state


def parse_final_state(document: object, *, source: str = "final_state.json") -> FinalState:
    """Validate a decoded final state document; errors name the row, e.g. ``refunds[3]``.

    >>> empty = {name: [] for name in ROW_LISTS}
    >>> state = parse_final_state({"complete": True, "errors": [], "read_time": 0, **empty})
    >>> (state.reads_complete, state.payouts)
    (True, ())
    """
    if type(document) is not dict:
        raise RunFileError(f"{source}: expected a JSON object")
    with gc_paused():
        try:
            state = msgspec.convert(document, FinalState)
        except msgspec.ValidationError as error:
            raise validation_problem(error, source) from None
        _check_identities(state, source)
        return state


@dataclass(frozen=True)
class UncheckedFinalState:
    """Final reads that break the contract, kept as read: written as they are, ``analyze``
    then names the broken field and the run is unknown, instead of the evidence being lost."""

    document: dict[str, Any]
    problem: RunFileError


def final_state_from_reads(
    document: dict[str, Any], *, source: str = "final reads"
) -> FinalState | UncheckedFinalState:
    """The final state the reads gave, or, when they break the contract, the reads as read."""
    try:
        return parse_final_state(document, source=source)
    except RunFileError as problem:
        return UncheckedFinalState(document, problem)


def encode_final_state(state: FinalState | UncheckedFinalState) -> bytes:
    """``final_state.json`` as written: what :func:`load_final_state` reads back as ``state``
    (and, for unchecked reads, the document whose broken field it names)."""
    if isinstance(state, UncheckedFinalState):
        # Values a database driver gives that JSON has no type for are written as text.
        return msgspec.json.encode(state.document, enc_hook=str)
    return _ENCODER.encode(state)


_DECODER = msgspec.json.Decoder(FinalState)
_ENCODER = msgspec.json.Encoder()
ROW_LISTS = tuple(
    name
    for name in FinalState.__struct_fields__
    if name not in {"complete", "errors", "read_time", "quiesced"}
)
# Lists that final states written before them lack: a missing one was not read (None).
OPTIONAL_ROW_LISTS = frozenset({"transitions"})
# Rows are joined by identity; a repeated one would make every join ambiguous. Keys are unique
# per merchant on the primary (a unique constraint); transitions have an id each.
_IDENTITIES: dict[str, tuple[str, Callable[..., Hashable]]] = {
    **{name: ("id", lambda row: row.id) for name in ROW_LISTS},
    "idempotency_keys": ("(merchant, key)", lambda row: (row.merchant, row.key)),
}


def _check_identities(state: FinalState, source: str) -> None:
    for name in ROW_LISTS:
        rows = getattr(state, name)
        if rows is None:
            continue
        identity_name, identity = _IDENTITIES[name]
        seen: dict[Hashable, int] = {}
        for position, row in enumerate(rows):
            first = seen.setdefault(identity(row), position)
            if first != position:
                raise RunFileError(
                    f"{source}: {name}[{position}]: {identity_name} {identity(row)!r} appears "
                    f"twice (first at {name}[{first}])"
                )
