"""liveness (anti-vacuity): the run did work, its faults took effect, its final reads completed.

A run that charged nothing, or whose faults never bit, proves nothing about the other
invariants: each unmet condition is listed as a reason and the verdict is unknown. This checker
is valid or unknown, never invalid.
"""

from collections.abc import Sequence

from invariants.model.faults import FaultWindow
from invariants.model.history import Op
from invariants.model.run import RunInputs
from invariants.verdict import Anomaly, InvariantResult, Verdict

NAME = "liveness"


def check(run: RunInputs) -> InvariantResult:
    """Check that the run is not vacuous; every unmet condition is one reason in the result.

    >>> check(run).verdict  # doctest: +SKIP
    <Verdict.UNKNOWN: 'unknown'>
    """
    ops, fault_windows, final_state = run.ops, run.fault_windows, run.final_state
    reasons = [*_work_reasons(ops), *_fault_reasons(fault_windows)]
    incomplete_reason = final_state.incomplete_reason
    if incomplete_reason is not None:
        evidence = {"complete": final_state.complete, "errors": list(final_state.errors)}
        reasons.append(Anomaly("final_state_incomplete", incomplete_reason, evidence))
    if reasons:
        return InvariantResult(NAME, Verdict.UNKNOWN, tuple(reasons))
    return InvariantResult(NAME, Verdict.VALID)


def _work_reasons(ops: Sequence[Op]) -> list[Anomaly]:
    if not ops:
        return [Anomaly("empty_history", "the history has no ops", {"op_count": 0})]
    if any(op.f == "charge" and op.type == "ok" for op in ops):
        return []
    counts = {"ok": 0, "fail": 0, "info": 0}
    for op in ops:
        if op.f == "charge":
            counts[op.type] += 1
    return [
        Anomaly(
            "no_ok_charge",
            f"no charge op ended ok ({counts['fail']} fail, {counts['info']} info)",
            {"op_count": len(ops), "charge_ops": counts},
        )
    ]


def _fault_reasons(fault_windows: Sequence[FaultWindow]) -> list[Anomaly]:
    reasons = []
    for window in fault_windows:
        evidence = {
            "fault_name": window.name,
            "fault": window.fault,
            "target": window.target,
            "start_index": window.start_index,
            "stop_index": window.stop_index,
            "confirmed": window.confirmed,
            "evidence": window.evidence,
        }
        if window.stop_index is None:
            message = f"fault {window.name!r} on {window.target} was never stopped"
            reasons.append(Anomaly("fault_never_stopped", message, evidence))
        elif window.confirmed is not True:
            message = f"fault {window.name!r} on {window.target} was not confirmed to take effect"
            reasons.append(Anomaly("fault_unconfirmed", message, evidence))
    return reasons
