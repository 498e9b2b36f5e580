"""The history model and the invariant checkers; nothing here talks to a live system.

Load a run's inputs, run the checkers by name, combine their verdicts:

>>> inputs = load_run(Path("reports/runs/latest"))  # doctest: +SKIP
>>> results = check_all(inputs.ops, inputs.fault_windows, inputs.final_state,
...                     ["no_double_charge", "no_lost_write", "liveness"])  # doctest: +SKIP
>>> combine(result.verdict for result in results)  # doctest: +SKIP
<Verdict.VALID: 'valid'>
"""

from invariants.errors import RunFileError
from invariants.faults import FaultTimeline, FaultWindow, load_faults, parse_faults
from invariants.final_state import (
    AUTHORIZATION_OUTCOMES,
    CHARGE_STATES,
    Balance,
    Charge,
    FinalState,
    IdempotencyKeyRecord,
    NetworkAuthorization,
    load_final_state,
    parse_final_state,
)
from invariants.history import Op, load_history, ops_by_key, parse_history
from invariants.registry import CHECKERS, check_all
from invariants.run_files import (
    FAULTS_FILE,
    FINAL_STATE_FILE,
    HISTORY_FILE,
    RunInputs,
    load_run,
)
from invariants.verdict import (
    Anomaly,
    Checker,
    InvariantResult,
    Verdict,
    combine,
    decide,
    run_checker,
)

__all__ = [
    "AUTHORIZATION_OUTCOMES",
    "CHARGE_STATES",
    "CHECKERS",
    "FAULTS_FILE",
    "FINAL_STATE_FILE",
    "HISTORY_FILE",
    "Anomaly",
    "Balance",
    "Charge",
    "Checker",
    "FaultTimeline",
    "FaultWindow",
    "FinalState",
    "IdempotencyKeyRecord",
    "InvariantResult",
    "NetworkAuthorization",
    "Op",
    "RunFileError",
    "RunInputs",
    "Verdict",
    "check_all",
    "combine",
    "decide",
    "load_faults",
    "load_final_state",
    "load_history",
    "load_run",
    "ops_by_key",
    "parse_faults",
    "parse_final_state",
    "parse_history",
    "run_checker",
]
