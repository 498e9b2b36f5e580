"""Run statistics for the report: ops, keys, logical payments, and the final rows and network
records of every kind of money movement (charge, refund, payout)."""

from collections import Counter
from collections.abc import Iterable, Sequence

from invariants import (
    MOVEMENT_KINDS,
    MOVEMENT_STATES,
    NETWORK_OUTCOMES,
    FinalState,
    MovementKind,
    Op,
    ops_by_scope,
    payments_by_scope,
)
from invariants.joins import Scope

_OP_TYPES = ("ok", "fail", "info")
# Without an ok, a key's last attempt decides how it ended.
_KEY_OUTCOMES = {"ok": "succeeded", "fail": "failed", "info": "indeterminate"}


def run_stats(ops: Sequence[Op], final_state: FinalState, duration_s: float) -> dict:
    """All statistics of ``report.json``'s ``stats`` object.

    Per kind of movement: its rows by state (``charges``, ``refunds``, ``payouts``), how many
    recovery resolved (``charges_resolved_by_recovery``, ...) and its network records by
    outcome (``network_authorizations``, ``network_refunds``, ``network_payouts``); and per
    kind, its logical payments and the client's own duplicates among them (``payments``).

    >>> run_stats([], final_state, 1.5)["ops"]  # doctest: +SKIP
    {'charge': {'ok': 0, 'fail': 0, 'info': 0}, 'refund': {...}, 'payout': {...}}
    """
    stats: dict = {
        "ops": op_counts(ops),
        "keys": key_outcomes(ops),
        "payments": payment_duplicates(ops, final_state),
    }
    for kind in MOVEMENT_KINDS:
        stats |= final_counts(kind, final_state)
    stats["duration_s"] = duration_s
    return stats


def op_counts(ops: Iterable[Op]) -> dict[str, dict[str, int]]:
    """Per function ``f``: how many ops (one per invoke) ended ok, fail and info."""
    # The writes are always present, zero or not: the report contract promises their counts.
    counts = {kind.name: dict.fromkeys(_OP_TYPES, 0) for kind in MOVEMENT_KINDS}
    for op in ops:
        counts.setdefault(op.f, dict.fromkeys(_OP_TYPES, 0))[op.type] += 1
    return counts


def key_outcomes(ops: Sequence[Op]) -> dict[str, dict[str, int]]:
    """Per kind of write: how many idempotency keys (per merchant) there were and how many
    ended succeeded/failed/indeterminate.

    A key succeeded if any of its ops ended ok; otherwise its last attempt decides: a fail
    means failed, an info means indeterminate. ``ops`` must be in invoke order.
    """
    return {kind.name: _kind_key_outcomes(ops, kind) for kind in MOVEMENT_KINDS}


def payment_duplicates(ops: Sequence[Op], final_state: FinalState) -> dict[str, dict[str, int]]:
    """Per kind of write: its logical payments (per merchant), and the client's duplicates.

    - ``count``: logical payments (planned writes) sent;
    - ``multiple_keys``: payments sent under more than one idempotency key (a careless client);
    - ``duplicated``: payments that moved money under more than one key: the client's own
      duplicates, which idempotency cannot prevent (a key moving money twice is the system's,
      and no_double_charge's to report, so it counts once here);
    - ``duplicate_movements``: the keys beyond the first that moved money for one payment.

    A key moved money if it has a SUCCEEDED row on the primary.
    """
    return {kind.name: _kind_payment_duplicates(ops, kind, final_state) for kind in MOVEMENT_KINDS}


def final_counts(kind: MovementKind, final_state: FinalState) -> dict[str, object]:
    """One kind's final rows by state, how many recovery resolved, its records by outcome."""
    movements = kind.objects(final_state)
    records = kind.records(final_state)
    return {
        kind.plural: _zero_filled(MOVEMENT_STATES, (movement.state for movement in movements)),
        f"{kind.plural}_resolved_by_recovery": sum(
            movement.resolved_by == "recovery" for movement in movements
        ),
        kind.record_list: _zero_filled(NETWORK_OUTCOMES, (record.outcome for record in records)),
    }


def _kind_key_outcomes(ops: Sequence[Op], kind: MovementKind) -> dict[str, int]:
    outcomes = [_key_outcome(scope_ops) for scope_ops in ops_by_scope(ops, kind).values()]
    return {"count": len(outcomes), **_zero_filled(_KEY_OUTCOMES.values(), outcomes)}


def _kind_payment_duplicates(
    ops: Sequence[Op], kind: MovementKind, final_state: FinalState
) -> dict[str, int]:
    payment_of = payments_by_scope(ops, kind)
    keys_sent = Counter(payment_of.values())
    keys_moved: dict[Scope, set[str]] = {}
    for movement in kind.objects(final_state):
        if movement.state != "SUCCEEDED" or movement.idempotency_key is None:
            continue
        scope = (movement.merchant, movement.idempotency_key)
        # A row of a key no op sent is a phantom: no_lost_write's, and no payment's.
        if scope in payment_of:
            keys_moved.setdefault(payment_of[scope], set()).add(movement.idempotency_key)
    moved_counts = [len(keys) for keys in keys_moved.values()]
    return {
        "count": len(keys_sent),
        "multiple_keys": sum(count > 1 for count in keys_sent.values()),
        "duplicated": sum(count > 1 for count in moved_counts),
        "duplicate_movements": sum(count - 1 for count in moved_counts),
    }


def _key_outcome(ops: list[Op]) -> str:
    if any(op.type == "ok" for op in ops):
        return _KEY_OUTCOMES["ok"]
    return _KEY_OUTCOMES[ops[-1].type]


def _zero_filled(names: Iterable[str], values: Iterable[str]) -> dict[str, int]:
    # Every name is present, zero or not, so readers of the report need no defaults.
    counts = Counter(values)
    return {name: counts[name] for name in sorted(names)}
