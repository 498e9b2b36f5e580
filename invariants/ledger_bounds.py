"""The Jepsen bound in no_lost_write, as anomalies: per merchant, kind and currency, the
money the ledger moved lies between what was acknowledged ok and that plus what the keys that
ended ``info`` could have moved (the arithmetic is :mod:`invariants.outcomes`)."""

from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence

from invariants.evidence import op_evidence, union
from invariants.joins import MovementJoin, Scope
from invariants.model.final_state import FinalState
from invariants.model.history import Op, op_payment
from invariants.outcomes import (
    KeyOutcome,
    LedgerBound,
    Outcome,
    ledger_bounds,
)
from invariants.verdict import Anomaly

# Keys and objects named in one bound anomaly's evidence; the rest are counted.
EVIDENCE_KEYS_MAX = 20


def ledger_bound_anomalies(
    joins: Mapping[str, MovementJoin], ops: Sequence[Op], final_state: FinalState
) -> Iterator[Anomaly]:
    """Per merchant, kind and currency: acknowledged <= ledger <= acknowledged + uncertain."""
    # Entries missing from an incomplete read would look like money lost.
    if not final_state.reads_complete or not final_state.ledger_accounts:
        return
    scoped = {name: join.ops_by_scope for name, join in joins.items()}
    for bound in ledger_bounds(ops, final_state, scoped):
        join = joins[bound.kind.name]
        if bound.moved < bound.lower:
            yield _below_bound(join, bound)
        elif bound.upper is not None and bound.moved > bound.upper:
            yield _above_bound(join, bound)


def _ledger_words(bound: LedgerBound) -> str:
    verb = "credits" if bound.kind.name == "charge" else "debits"
    money = f"{bound.moved} {bound.currency}"
    return f"The ledger {verb} merchant {bound.merchant} {money} for {bound.kind.plural}"


def _below_bound(join: MovementJoin, bound: LedgerBound) -> Anomaly:
    kind = join.kind
    done = [key for key in bound.keys if key.outcome is Outcome.DONE]
    by_scope, _ = _moved_by_scope(join, bound)
    short = [key.scope for key in done if by_scope.get(key.scope, 0) < (key.amount or 0)]
    cost = (
        "the merchant was told it was paid and is not"
        if kind.name == "charge"
        else "left the platform and is still in the merchant's balance, to be spent again"
    )
    missing = bound.lower - bound.moved
    return Anomaly(
        f"{kind.name}_ledger_below_acknowledged",
        f"{_ledger_words(bound)}, but {kind.plural} of {bound.lower} were acknowledged ok "
        f"({len(done)} keys): {missing} {bound.currency} {cost}.",
        _bound_evidence(join, bound, short, {}),
    )


def _above_bound(join: MovementJoin, bound: LedgerBound) -> Anomaly:
    allowed = {key.scope: key.amount or 0 for key in bound.keys}
    by_scope, keyless = _moved_by_scope(join, bound)
    over = [scope for scope, moved in by_scope.items() if moved > allowed.get(scope, 0)]
    assert bound.upper is not None, "only a bounded figure can be above its bound"
    uncertain = bound.upper - bound.lower
    excess = bound.moved - bound.upper
    return Anomaly(
        f"{join.kind.name}_ledger_above_possible",
        f"{_ledger_words(bound)}, more than the {bound.upper} its acknowledged "
        f"({bound.lower}) and uncertain ({uncertain}) {join.kind.plural} could have moved: "
        f"{excess} {bound.currency} moved that no request asked for.",
        _bound_evidence(join, bound, over, keyless),
    )


def _moved_by_scope(
    join: MovementJoin, bound: LedgerBound
) -> tuple[dict[Scope, int], dict[str, int]]:
    """The ledger's money moved per key (through the rows of the key), and per object id for
    the objects that have no key or no row."""
    by_scope: dict[Scope, int] = defaultdict(int)
    keyless: dict[str, int] = {}
    for object_id, moved in bound.moved_by_object.items():
        row = join.movements_by_id.get(object_id)
        if row is None or row.idempotency_key is None:
            keyless[object_id] = moved
        else:
            by_scope[(row.merchant, row.idempotency_key)] += moved
    return by_scope, keyless


def _bound_evidence(
    join: MovementJoin, bound: LedgerBound, culprits: list[Scope], keyless: dict[str, int]
) -> dict:
    """The bound, the ledger's figure, and the keys (with their ops) that break it."""
    keys = {key.scope: key for key in bound.keys}
    shown = culprits[:EVIDENCE_KEYS_MAX]
    ops = [op for scope in shown for op in join.ops_by_scope.get(scope, [])]
    quoted = [op_evidence(op, join.timeline) for op in ops]
    uncertain = [key.scope[1] for key in bound.keys if key.outcome is Outcome.UNCERTAIN]
    return {
        "movement": join.kind.name,
        "merchant": bound.merchant,
        "currency": bound.currency,
        "bound": {"acknowledged": bound.lower, "possible": bound.upper},
        "ledger": bound.moved,
        "uncertain_keys": uncertain[:EVIDENCE_KEYS_MAX],
        "uncertain_key_count": len(uncertain),
        "culprit_count": len(culprits) + len(keyless),
        "culprits": [_culprit(join, bound, keys.get(scope), scope) for scope in shown],
        "ledger_without_key": dict(list(keyless.items())[:EVIDENCE_KEYS_MAX]),
        "op_indexes": [op.invoke_index for op in ops],
        "faults_active": union(entry["faults_active"] for entry in quoted),
        "ops": quoted,
    }


def _culprit(join: MovementJoin, bound: LedgerBound, key: KeyOutcome | None, scope: Scope) -> dict:
    """One key that breaks the bound: what the history says of it and what the ledger holds."""
    rows = join.movements_by_scope.get(scope, [])
    return {
        "key": scope[1],
        "payment": op_payment(key.ops[0]) if key is not None else None,
        "outcome": key.outcome.value if key is not None else "never sent",
        "amount": key.amount if key is not None else 0,
        "ledger": sum(bound.moved_by_object.get(row.id, 0) for row in rows),
        f"{join.kind.name}_ids": [row.id for row in rows],
    }
