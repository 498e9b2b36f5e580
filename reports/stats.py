"""Run statistics for the report: ops, keys, and the final rows and network records of every
kind of money movement (charge, refund, payout)."""

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
)

_OP_TYPES = ("ok", "fail", "info")
# Without an ok, a key's last attempt decides how it ended.
_KEY_OUTCOMES = {"ok": "succeeded", "fail": "failed", "info": "indeterminate"}


def run_stats(ops: Sequence[Op], final_state: FinalState, duration_s: float) -> dict:
    """All statistics of ``report.json``'s ``stats`` object.

    Per kind of movement: its rows by state (``charges``, ``refunds``, ``payouts``), how many
    recovery resolved (``charges_resolved_by_recovery``, ...) and its network records by
    outcome (``network_authorizations``, ``network_refunds``, ``network_payouts``).

    >>> run_stats([], final_state, 1.5)["ops"]  # doctest: +SKIP
    {'charge': {'ok': 0, 'fail': 0, 'info': 0}, 'refund': {...}, 'payout': {...}}
    """
    stats: dict = {"ops": op_counts(ops), "keys": key_outcomes(ops)}
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


def _key_outcome(ops: list[Op]) -> str:
    if any(op.type == "ok" for op in ops):
        return _KEY_OUTCOMES["ok"]
    return _KEY_OUTCOMES[ops[-1].type]


def _zero_filled(names: Iterable[str], values: Iterable[str]) -> dict[str, int]:
    # Every name is present, zero or not, so readers of the report need no defaults.
    counts = Counter(values)
    return {name: counts[name] for name in sorted(names)}
