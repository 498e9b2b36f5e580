"""What the history says of each key's movement, and the Jepsen bounds on the ledger it sets.

An ``ok`` write is done, a ``fail`` that reports the movement's outcome is definitely not done,
and an ``info`` may or may not be. So, as Jepsen bounds a counter (``ok <= observed <= ok +
info``), the money the ledger moved for one merchant's writes of one kind and currency lies
between the amounts of its keys acknowledged ok and those plus the most its uncertain keys
could have moved.

The unit is the idempotency key, scoped per merchant, not the logical payment: the system
promises one movement per key, and a careless client that sends one payment under several
keys may be charged once per key (its duplicate, not the system's). Several processes that
retried one key are one key, counted once.
"""

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from invariants.api_answers import REQUEST_REJECTION_ERRORS
from invariants.chart import MERCHANT_AVAILABLE, MERCHANT_POSTINGS
from invariants.joins import Scope
from invariants.model.final_state import FinalState, LedgerEntry
from invariants.model.history import Op
from invariants.movements import CHARGE, MOVEMENT_KINDS, REFUND, MovementKind

# How a movement shows on its merchant's available balance: charges credit it, refunds and
# payouts debit it. Bounds are on the money moved, so debits are counted positive.
MERCHANT_SIGNS = {"charge": +1, "refund": -1, "payout": -1}
assert set(MERCHANT_SIGNS) == {kind.name for kind in MOVEMENT_KINDS}
assert set(MERCHANT_POSTINGS.values()) == set(MERCHANT_SIGNS)


def failure_acknowledged(ops: Sequence[Op]) -> bool:
    """Whether the SUT said this key's movement definitely did not happen.

    Either a fail reported the movement's outcome (a decline, a refusal by the network), or
    every attempt was rejected.
    """
    failures = [op for op in ops if op.type == "fail"]
    if any(op.error not in REQUEST_REJECTION_ERRORS for op in failures):
        return True
    return bool(failures) and len(failures) == len(ops)


class Outcome(StrEnum):
    """What the history proves of one key's movement."""

    DONE = "done"
    NOT_DONE = "not_done"
    UNCERTAIN = "uncertain"


@dataclass(frozen=True)
class KeyOutcome:
    """One key of one kind: its outcome and the money it moved (done) or may have (uncertain).

    ``amount`` is None when the most an uncertain key could move is not known (a refund of
    the rest of a charge whose amount is nowhere to be read).
    """

    scope: Scope
    currency: str
    outcome: Outcome
    amount: int | None
    ops: Sequence[Op]


def key_outcomes(
    key_ops_by_scope: Mapping[Scope, Sequence[Op]],
    kind: MovementKind,
    charge_amounts: Mapping[str, int],
) -> list[KeyOutcome]:
    """Every key of the kind's writes (``key_ops_by_scope``: its ops by (merchant, key)) with
    its outcome; ``charge_amounts`` (charge id -> amount) bounds a refund of what remains of a
    charge."""
    outcomes = []
    for scope, key_ops in key_ops_by_scope.items():
        first = key_ops[0].invoke_value
        assert first is not None, "every invoke carries a value (history contract)"
        oks = [op for op in key_ops if op.type == "ok"]
        if oks:
            assert oks[0].completion_value is not None, "an ok carries a value"
            outcome, amount = Outcome.DONE, oks[0].completion_value["amount"]
        elif failure_acknowledged(key_ops):
            outcome, amount = Outcome.NOT_DONE, 0
        else:
            outcome, amount = Outcome.UNCERTAIN, first["amount"]
            if amount is None and kind is REFUND:
                amount = charge_amounts.get(first["charge_id"])
        outcomes.append(KeyOutcome(scope, first["currency"], outcome, amount, key_ops))
    return outcomes


def charge_amounts(ops: Iterable[Op], state: FinalState) -> dict[str, int]:
    """Each charge's amount by id: as acknowledged ok, else as its row on the primary."""
    amounts = {charge.id: charge.amount for charge in state.charges}
    for op in ops:
        if op.f == CHARGE.name and op.type == "ok":
            assert op.completion_value is not None, "an ok carries a value"
            amounts[op.completion_value[CHARGE.id_field]] = op.completion_value["amount"]
    return amounts


@dataclass
class LedgerBound:
    """One merchant's movements of one kind and currency: the bound and the ledger's figure.

    ``upper`` is None when an uncertain key's amount is unknown (no upper bound).
    """

    kind: MovementKind
    merchant: str | None
    currency: str
    lower: int = 0
    upper: int | None = 0
    moved: int = 0
    keys: list[KeyOutcome] = field(default_factory=list)
    # Money moved per object id, from the ledger.
    moved_by_object: dict[str, int] = field(default_factory=dict)


def ledger_bounds(
    ops: Sequence[Op],
    state: FinalState,
    scoped_ops: Mapping[str, Mapping[Scope, Sequence[Op]]],
) -> list[LedgerBound]:
    """The bound and the ledger's money moved, per movement kind, merchant and currency;
    ``scoped_ops`` holds each kind's write ops by (merchant, key)."""
    bounds: dict[tuple[str, str | None, str], LedgerBound] = {}

    def bound(kind: MovementKind, merchant: str | None, currency: str) -> LedgerBound:
        found = bounds.get((kind.name, merchant, currency))
        if found is None:
            found = bounds[(kind.name, merchant, currency)] = LedgerBound(kind, merchant, currency)
        return found

    amounts = charge_amounts(ops, state)
    for kind in MOVEMENT_KINDS:
        for key in key_outcomes(scoped_ops[kind.name], kind, amounts):
            entry = bound(kind, key.scope[0], key.currency)
            entry.keys.append(key)
            if key.outcome is Outcome.DONE:
                entry.lower += key.amount
            if entry.upper is not None:
                entry.upper = None if key.amount is None else entry.upper + key.amount
    by_name = {kind.name: kind for kind in MOVEMENT_KINDS}
    for (kind_name, merchant, currency), entries in _merchant_entries(state).items():
        entry = bound(by_name[kind_name], merchant, currency)
        for ledger_entry in entries:
            moved = MERCHANT_SIGNS[kind_name] * ledger_entry.amount
            entry.moved += moved
            object_id = ledger_entry.object_id
            entry.moved_by_object[object_id] = entry.moved_by_object.get(object_id, 0) + moved
    return list(bounds.values())


def _merchant_entries(
    state: FinalState,
) -> dict[tuple[str, str | None, str], list[LedgerEntry]]:
    """Entries on merchants' available accounts, by (movement kind, merchant, currency)."""
    accounts = {
        account.id: account
        for account in state.ledger_accounts
        if account.kind == MERCHANT_AVAILABLE
    }
    grouped: dict[tuple[str, str | None, str], list[LedgerEntry]] = defaultdict(list)
    for entry in state.ledger_entries:
        account = accounts.get(entry.account_id)
        kind_name = MERCHANT_POSTINGS.get(entry.transaction_kind)
        if account is not None and kind_name is not None:
            grouped[(kind_name, account.merchant, account.currency)].append(entry)
    return grouped
