"""The final state read after the run: the primary's rows and the network simulator's records.

Every money movement (charge, refund, payout) has a row on the primary and, once sent, records
on the network; the network's ``approved`` records are the money that really moved.
"""

import json
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field, fields
from pathlib import Path
from types import NoneType

from invariants.model.errors import RunFileError
from invariants.model.records import Shape, gc_paused, require_choice, shown

MOVEMENT_STATES = frozenset({"PENDING", "PROCESSING", "SUCCEEDED", "FAILED"})
UNRESOLVED_STATES = frozenset({"PENDING", "PROCESSING"})
RESOLVERS = frozenset({"api", "recovery", None})
NETWORK_OUTCOMES = frozenset({"approved", "declined", "expired"})


@dataclass(frozen=True, slots=True)
class Charge:
    """A charge row on the PostgreSQL primary."""

    id: str
    merchant: str
    idempotency_key: str | None
    amount: int
    currency: str
    state: str
    failure_code: str | None
    resolved_by: str | None
    amount_refunded: int


@dataclass(frozen=True, slots=True)
class Refund:
    """A refund row on the primary; ``balance_seen`` is the balance its decision read."""

    id: str
    merchant: str
    idempotency_key: str | None
    charge_id: str
    amount: int
    currency: str
    state: str
    failure_code: str | None
    resolved_by: str | None
    balance_seen: int


@dataclass(frozen=True, slots=True)
class Payout:
    """A payout row on the primary; ``balance_seen`` is the balance its decision read."""

    id: str
    merchant: str
    idempotency_key: str | None
    amount: int
    currency: str
    state: str
    failure_code: str | None
    resolved_by: str | None
    balance_seen: int


@dataclass(frozen=True, slots=True)
class NetworkAuthorization:
    """An authorization the card network recorded; ``reference`` is the charge id."""

    id: str
    reference: str
    amount: int
    currency: str
    outcome: str
    decline_code: str | None


@dataclass(frozen=True, slots=True)
class NetworkRefund:
    """A refund the card network recorded; ``reference`` is the refund id."""

    id: str
    reference: str
    authorization_id: str
    amount: int
    currency: str
    outcome: str
    decline_code: str | None


@dataclass(frozen=True, slots=True)
class NetworkPayout:
    """A payout the bank recorded; ``reference`` is the payout id."""

    id: str
    reference: str
    amount: int
    currency: str
    outcome: str
    decline_code: str | None


# What the checkers of every movement read, whichever its kind.
Movement = Charge | Refund | Payout
NetworkRecord = NetworkAuthorization | NetworkRefund | NetworkPayout


@dataclass(frozen=True, slots=True)
class IdempotencyKeyRecord:
    """An idempotency key row on the primary with its recovery point and the object it made."""

    merchant: str
    key: str
    recovery_point: str
    response_code: int | None
    object_id: str | None


@dataclass(frozen=True, slots=True)
class LedgerAccount:
    """A ledger account; ``merchant`` is ``None`` for the platform's own accounts."""

    id: int
    merchant: str | None
    kind: str
    currency: str
    balance: int


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """One signed entry of a ledger transaction (credits positive, debits negative)."""

    id: int
    transaction_id: int
    transaction_kind: str
    object_id: str
    account_id: int
    amount: int
    # The account's balance once this entry applied (None where the SUT did not record it).
    balance_after: int | None


@dataclass(frozen=True, slots=True)
class Transition:
    """One recorded step of a charge, refund or payout's state machine, in ``id`` order.

    ``from_state`` is ``None`` for the step that created the object.
    """

    id: int
    object_type: str
    object_id: str
    from_state: str | None
    to_state: str
    actor: str


@dataclass(frozen=True, slots=True)
class FinalState:
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
    transitions: tuple[Transition, ...] | None
    network_authorizations: tuple[NetworkAuthorization, ...]
    network_refunds: tuple[NetworkRefund, ...]
    network_payouts: tuple[NetworkPayout, ...]

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
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as error:
            location = f"line {error.lineno} column {error.colno}"
            raise RunFileError(f"{path}: not valid JSON ({error.msg} at {location})") from None
        return parse_final_state(document, source=str(path))


def parse_final_state(document: object, *, source: str = "final_state.json") -> FinalState:
    """Validate a decoded final state document; errors name the row, e.g. ``refunds[3]``.

    >>> empty = {name: [] for name in ROW_LISTS}
    >>> state = parse_final_state({"complete": True, "errors": [], "read_time": 0, **empty})
    >>> (state.reads_complete, state.payouts)
    (True, ())
    """
    if type(document) is not dict:
        raise RunFileError(f"{source}: expected a JSON object")
    _DOCUMENT_SHAPE.check(document, source)
    for position, error in enumerate(document["errors"]):
        if type(error) is not str:
            raise RunFileError(f"{source}: errors[{position}] must be a string")
    with gc_paused():
        rows = {name: _rows(document, name, kind, source) for name, kind in _ROW_KINDS.items()}
    return FinalState(
        complete=document["complete"],
        errors=tuple(document["errors"]),
        read_time=document["read_time"],
        **rows,
    )


@dataclass(frozen=True)
class _RowKind:
    """How to read one list of the document: fields, row type, choices and identity."""

    shape: Shape
    build: type
    choices: dict[str, frozenset] = field(default_factory=dict)
    # Rows are joined by identity; a repeated one would make every join ambiguous.
    identity: Callable[[dict], Hashable] = lambda row: row["id"]
    identity_name: str = "id"


_MOVEMENT_FIELDS = {
    "id": str,
    "merchant": str,
    "idempotency_key": (str, NoneType),
    "amount": int,
    "currency": str,
    "state": str,
    "failure_code": (str, NoneType),
    "resolved_by": (str, NoneType),
}
_MOVEMENT_CHOICES = {"state": MOVEMENT_STATES, "resolved_by": RESOLVERS}
_RECORD_FIELDS = {
    "id": str,
    "reference": str,
    "amount": int,
    "currency": str,
    "outcome": str,
    "decline_code": (str, NoneType),
}
_RECORD_CHOICES = {"outcome": NETWORK_OUTCOMES}

_ROW_KINDS: dict[str, _RowKind] = {
    "charges": _RowKind(Shape(**_MOVEMENT_FIELDS, amount_refunded=int), Charge, _MOVEMENT_CHOICES),
    "refunds": _RowKind(
        Shape(**_MOVEMENT_FIELDS, charge_id=str, balance_seen=int), Refund, _MOVEMENT_CHOICES
    ),
    "payouts": _RowKind(Shape(**_MOVEMENT_FIELDS, balance_seen=int), Payout, _MOVEMENT_CHOICES),
    "idempotency_keys": _RowKind(
        Shape(
            merchant=str,
            key=str,
            recovery_point=str,
            response_code=(int, NoneType),
            object_id=(str, NoneType),
        ),
        IdempotencyKeyRecord,
        # Keys are unique per merchant on the primary (a unique constraint).
        identity=lambda row: (row["merchant"], row["key"]),
        identity_name="(merchant, key)",
    ),
    "ledger_accounts": _RowKind(
        Shape(id=int, merchant=(str, NoneType), kind=str, currency=str, balance=int),
        LedgerAccount,
    ),
    "ledger_entries": _RowKind(
        Shape(
            id=int,
            transaction_id=int,
            transaction_kind=str,
            object_id=str,
            account_id=int,
            amount=int,
            balance_after=(int, NoneType),
        ),
        LedgerEntry,
    ),
    # States are not choices here: a step into an unknown state is legal_state_transitions'
    # finding, not a broken file.
    "transitions": _RowKind(
        Shape(
            id=int,
            object_type=str,
            object_id=str,
            from_state=(str, NoneType),
            to_state=str,
            actor=str,
        ),
        Transition,
    ),
    "network_authorizations": _RowKind(
        Shape(**_RECORD_FIELDS), NetworkAuthorization, _RECORD_CHOICES
    ),
    "network_refunds": _RowKind(
        Shape(**_RECORD_FIELDS, authorization_id=str), NetworkRefund, _RECORD_CHOICES
    ),
    "network_payouts": _RowKind(Shape(**_RECORD_FIELDS), NetworkPayout, _RECORD_CHOICES),
}
ROW_LISTS = tuple(_ROW_KINDS)
# Lists that final states written before them lack: a missing one was not read (None).
OPTIONAL_ROW_LISTS = frozenset({"transitions"})


def _assert_shapes_match_rows() -> None:
    # Each list's shape names exactly the fields of its row type, so the two cannot drift.
    for name, kind in _ROW_KINDS.items():
        row_fields = {row_field.name for row_field in fields(kind.build)}
        assert kind.shape.names == row_fields, f"{name}: shape and row type differ"


_assert_shapes_match_rows()

_DOCUMENT_SHAPE = Shape(
    complete=bool,
    errors=list,
    read_time=int,
    **{name: list for name in _ROW_KINDS if name not in OPTIONAL_ROW_LISTS},
)


def _rows(document: dict, name: str, kind: _RowKind, source: str) -> tuple | None:
    if name in OPTIONAL_ROW_LISTS:
        if name not in document:
            return None
        if type(document[name]) is not list:
            raise RunFileError(
                f"{source}: field {name!r} must be a list, got {shown(document[name])}"
            )
    parsed = []
    seen: dict[Hashable, int] = {}
    for position, row in enumerate(document[name]):
        where = f"{source}: {name}[{position}]"
        if type(row) is not dict:
            raise RunFileError(f"{where}: expected an object")
        values = kind.shape.pick(row, where)
        for choice_field, choices in kind.choices.items():
            require_choice(row, choice_field, choices, where)
        identity = kind.identity(values)
        if identity in seen:
            raise RunFileError(
                f"{where}: {kind.identity_name} {identity!r} appears twice "
                f"(first at {name}[{seen[identity]}])"
            )
        seen[identity] = position
        parsed.append(kind.build(**values))
    return tuple(parsed)
