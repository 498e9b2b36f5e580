"""The checkers by invariant name, and running a chosen set of them."""

from collections import Counter
from collections.abc import Sequence

from invariants import liveness, no_double_charge, no_lost_write
from invariants.faults import FaultWindow
from invariants.final_state import FinalState
from invariants.history import Op
from invariants.verdict import Checker, InvariantResult, run_checker

CHECKERS: dict[str, Checker] = {
    no_double_charge.NAME: no_double_charge.check,
    no_lost_write.NAME: no_lost_write.check,
    liveness.NAME: liveness.check,
}


def check_all(
    ops: Sequence[Op],
    fault_windows: Sequence[FaultWindow],
    final_state: FinalState,
    names: Sequence[str],
) -> list[InvariantResult]:
    """Run the named checkers in order; one that raises gives unknown, never valid.

    Unknown or repeated names raise :class:`ValueError` before any checker runs.

    >>> check_all(ops, windows, state, ["no_double_charge", "liveness"])  # doctest: +SKIP
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
    return [run_checker(name, CHECKERS[name], ops, fault_windows, final_state) for name in names]
