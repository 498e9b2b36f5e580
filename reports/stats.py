"""Run statistics for the report: ops, keys, final charges and network authorizations."""

from collections import Counter
from collections.abc import Iterable, Sequence

from invariants import AUTHORIZATION_OUTCOMES, CHARGE_STATES, FinalState, Op

_OP_TYPES = ("ok", "fail", "info")
# Without an ok, a key's last attempt decides how it ended.
_KEY_OUTCOMES = {"ok": "succeeded", "fail": "failed", "info": "indeterminate"}


def run_stats(ops: Sequence[Op], final_state: FinalState, duration_s: float) -> dict:
    """All statistics of ``report.json``'s ``stats`` object.

    >>> run_stats([], final_state, 1.5)["ops"]  # doctest: +SKIP
    {'charge': {'ok': 0, 'fail': 0, 'info': 0}}
    """
    charges = final_state.charges
    authorizations = final_state.network_authorizations
    return {
        "ops": op_counts(ops),
        "keys": key_outcomes(ops),
        "charges": _zero_filled(CHARGE_STATES, (charge.state for charge in charges)),
        "charges_resolved_by_recovery": sum(charge.resolved_by == "recovery" for charge in charges),
        "network_authorizations": _zero_filled(
            AUTHORIZATION_OUTCOMES, (authorization.outcome for authorization in authorizations)
        ),
        "duration_s": duration_s,
    }


def op_counts(ops: Iterable[Op]) -> dict[str, dict[str, int]]:
    """Per function ``f``: how many ops (one per invoke) ended ok, fail and info."""
    # "charge" is always present: it is the op the report contract promises counts for.
    counts: dict[str, dict[str, int]] = {"charge": dict.fromkeys(_OP_TYPES, 0)}
    for op in ops:
        counts.setdefault(op.f, dict.fromkeys(_OP_TYPES, 0))[op.type] += 1
    return counts


def key_outcomes(ops: Iterable[Op]) -> dict[str, int]:
    """How many idempotency keys there were and how many ended succeeded/failed/indeterminate.

    A key succeeded if any of its ops ended ok; otherwise its last attempt decides: a fail
    means failed, an info means indeterminate. ``ops`` must be in invoke order.
    """
    outcomes: dict[str, str] = {}
    for op in ops:
        if outcomes.get(op.key) != "succeeded":
            outcomes[op.key] = _KEY_OUTCOMES[op.type]
    return {"count": len(outcomes), **_zero_filled(_KEY_OUTCOMES.values(), outcomes.values())}


def _zero_filled(names: Iterable[str], values: Iterable[str]) -> dict[str, int]:
    # Every name is present, zero or not, so readers of the report need no defaults.
    counts = Counter(values)
    return {name: counts[name] for name in sorted(names)}
