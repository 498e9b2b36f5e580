"""The checker inputs of a run directory, loaded together (what ``paychaos analyze`` reads)."""

from dataclasses import dataclass
from pathlib import Path

from invariants.faults import FaultWindow, load_faults
from invariants.final_state import FinalState, load_final_state
from invariants.history import Op, load_history

HISTORY_FILE = "history.jsonl"
FAULTS_FILE = "faults.jsonl"
FINAL_STATE_FILE = "final_state.json"
# Not a checker input: the fault proxy's toxicity rolls, to compare runs of one seed.
TOXICITY_DECISIONS_FILE = "toxicity_decisions.json"


@dataclass(frozen=True)
class RunInputs:
    """The history, fault windows and final state of one run."""

    ops: list[Op]
    fault_windows: list[FaultWindow]
    final_state: FinalState


def load_run(run_dir: Path) -> RunInputs:
    """Load and validate the three checker inputs of ``run_dir``.

    A missing file raises :class:`FileNotFoundError`; a broken one :class:`RunFileError`.

    >>> inputs = load_run(Path("reports/runs/latest"))  # doctest: +SKIP
    """
    return RunInputs(
        ops=load_history(run_dir / HISTORY_FILE),
        fault_windows=load_faults(run_dir / FAULTS_FILE),
        final_state=load_final_state(run_dir / FINAL_STATE_FILE),
    )
