"""The history model and the invariant checkers; nothing here talks to a live system.

Load a run's inputs, run the checkers by name, combine their verdicts:

>>> inputs = load_run(Path("reports/runs/latest"))  # doctest: +SKIP
>>> results = check_all(inputs.ops, inputs.fault_windows, inputs.final_state,
...                     ["no_double_charge", "no_lost_write", "liveness"])  # doctest: +SKIP
>>> combine(result.verdict for result in results)  # doctest: +SKIP
<Verdict.VALID: 'valid'>

The three kinds of money movement (charge, refund, payout) are one table,
:data:`MOVEMENT_KINDS`: the checkers run one code path over it.
"""

from invariants.joins import ops_by_scope, payments_by_scope
from invariants.model.errors import RunFileError
from invariants.model.faults import FaultTimeline, FaultWindow, load_faults, parse_faults
from invariants.model.files import (
    FAULTS_FILE,
    FINAL_STATE_FILE,
    HISTORY_FILE,
    TOXICITY_DECISIONS_FILE,
)
from invariants.model.final_state import (
    MOVEMENT_STATES,
    NETWORK_OUTCOMES,
    Charge,
    FinalState,
    IdempotencyKeyRecord,
    LedgerAccount,
    LedgerEntry,
    Movement,
    NetworkAuthorization,
    NetworkPayout,
    NetworkRecord,
    NetworkRefund,
    Payout,
    Refund,
    Transition,
    load_final_state,
    parse_final_state,
)
from invariants.model.history import (
    Op,
    load_history,
    op_payment,
    ops_by_key,
    parse_history,
)
from invariants.model.history_values import HISTORY_FUNCTIONS, WRITE_FUNCTIONS
from invariants.model.run import (
    RunInputs,
    load_partial_run,
    load_run,
)
from invariants.movements import CHARGE, MOVEMENT_KINDS, PAYOUT, REFUND, MovementKind
from invariants.registry import CHECKERS, check_all
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
    "CHARGE",
    "CHECKERS",
    "FAULTS_FILE",
    "FINAL_STATE_FILE",
    "HISTORY_FILE",
    "HISTORY_FUNCTIONS",
    "MOVEMENT_KINDS",
    "MOVEMENT_STATES",
    "NETWORK_OUTCOMES",
    "PAYOUT",
    "REFUND",
    "TOXICITY_DECISIONS_FILE",
    "WRITE_FUNCTIONS",
    "Anomaly",
    "Charge",
    "Checker",
    "FaultTimeline",
    "FaultWindow",
    "FinalState",
    "IdempotencyKeyRecord",
    "InvariantResult",
    "LedgerAccount",
    "LedgerEntry",
    "Movement",
    "MovementKind",
    "NetworkAuthorization",
    "NetworkPayout",
    "NetworkRecord",
    "NetworkRefund",
    "Op",
    "Payout",
    "Refund",
    "RunFileError",
    "RunInputs",
    "Transition",
    "Verdict",
    "check_all",
    "combine",
    "decide",
    "load_faults",
    "load_final_state",
    "load_history",
    "load_partial_run",
    "load_run",
    "op_payment",
    "ops_by_key",
    "ops_by_scope",
    "parse_faults",
    "parse_final_state",
    "parse_history",
    "payments_by_scope",
    "run_checker",
]
