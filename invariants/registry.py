"""The checkers by invariant name, and running a chosen set of them."""

from collections import Counter
from collections.abc import Sequence

from invariants.checkers import (
    idempotent_replay,
    ledger_conservation,
    legal_state_transitions,
    liveness,
    network_reconciliation,
    no_double_charge,
    no_lost_write,
    no_stale_balance_approval,
)
from invariants.model.run import RunInputs
from invariants.verdict import Checker, InvariantResult, Verdict, run_checker

CHECKERS: dict[str, Checker] = {
    no_double_charge.NAME: no_double_charge.check,
    no_lost_write.NAME: no_lost_write.check,
    no_stale_balance_approval.NAME: no_stale_balance_approval.check,
    idempotent_replay.NAME: idempotent_replay.check,
    legal_state_transitions.NAME: legal_state_transitions.check,
    ledger_conservation.NAME: ledger_conservation.check,
    network_reconciliation.NAME: network_reconciliation.check,
    liveness.NAME: liveness.check,
}


# Checkers that read only the final state (the history gives their evidence, nothing more):
# they still run when the history is unreadable.
FINAL_STATE_ONLY = frozenset(
    {
        no_stale_balance_approval.NAME,
        legal_state_transitions.NAME,
        ledger_conservation.NAME,
        network_reconciliation.NAME,
    }
)


def check_all(run: RunInputs, names: Sequence[str]) -> list[InvariantResult]:
    """Run the named checkers in order; one that raises gives unknown, never valid.

    Unknown or repeated names raise :class:`ValueError` before any checker runs. Without a
    readable history, the checkers that need it are unknown and the others run.

    >>> check_all(run, ["no_double_charge", "liveness"])  # doctest: +SKIP
    """
    unknown = [name for name in names if name not in CHECKERS]
    if unknown:
        raise ValueError(
            f"unknown invariant(s) {', '.join(map(repr, unknown))}; "
            f"known: {', '.join(sorted(CHECKERS))}"
        )
    repeated = sorted(name for name, count in Counter(names).items() if count > 1)
    if repeated:
        raise ValueError(f"invariant(s) listed more than once: {', '.join(repeated)}")
    return [
        run_checker(name, CHECKERS[name], run)
        if run.history_readable or name in FINAL_STATE_ONLY
        else InvariantResult(name, Verdict.UNKNOWN, error="the history is unreadable")
        for name in names
    ]
