"""The checker inputs of a run directory, loaded together (what ``paychaos analyze`` reads).

A run stopped by Ctrl-C or a crash leaves some of its files missing or half-written. Such a
run is still analyzed: what is missing becomes a gap, each checker that needs a missing input
says so (unknown), the others run, and a run with gaps is never ``valid``.
"""

from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from invariants.model.errors import RunFileError
from invariants.model.faults import FaultTimeline, FaultWindow, load_faults
from invariants.model.files import FAULTS_FILE, FINAL_STATE_FILE, HISTORY_FILE
from invariants.model.final_state import ROW_LISTS, FinalState, load_final_state, parse_final_state
from invariants.model.history import Op, load_history


@dataclass(frozen=True, eq=False)
class RunInputs:
    """The history, fault windows and final state of one run, and what of them is missing:
    what every checker takes.

    ``gaps`` says, one line each, which input is missing or unreadable (empty for a whole
    run); ``history_readable`` is False when the history is, so that checkers reading it
    are not run on an empty one. ``derived`` keeps indexes built from the inputs (joins of
    ops to rows) so that the checkers of one run build each of them once.
    """

    ops: Sequence[Op]
    fault_windows: Sequence[FaultWindow]
    final_state: FinalState
    gaps: tuple[str, ...] = field(default=())
    history_readable: bool = True
    derived: dict[Hashable, object] = field(default_factory=dict, repr=False)

    @cached_property
    def timeline(self) -> FaultTimeline:
        """The fault windows, indexed to find those active at a time."""
        return FaultTimeline(self.fault_windows)


def load_run(run_dir: Path) -> RunInputs:
    """Load and validate the three checker inputs of ``run_dir``.

    A missing file raises :class:`FileNotFoundError`; a broken one :class:`RunFileError`.

    >>> inputs = load_run(Path("reports/runs/latest"))  # doctest: +SKIP
    """
    # The final state first: its file is read whole to decode it, and that buffer should not
    # add to the memory the history already holds.
    final_state = load_final_state(run_dir / FINAL_STATE_FILE)
    return RunInputs(
        ops=load_history(run_dir / HISTORY_FILE),
        fault_windows=load_faults(run_dir / FAULTS_FILE),
        final_state=final_state,
    )


def load_partial_run(run_dir: Path) -> RunInputs:
    """Load what ``run_dir`` has; each missing or unreadable input is a gap, not an error.

    Raises :class:`FileNotFoundError` only when there is no history file at all: without it
    there is no run to analyze.
    """
    history_path = run_dir / HISTORY_FILE
    if not history_path.is_file():
        raise FileNotFoundError(f"{history_path}: no history, so no run to analyze")
    final_gaps: list[str] = []
    # The final state first, as in load_run: its whole-file buffer is gone before the history
    # is read.
    try:
        final_state = load_final_state(run_dir / FINAL_STATE_FILE)
    except (OSError, RunFileError) as error:
        reason = f"final state unreadable (the run ended before its final reads?): {error}"
        final_gaps.append(reason)
        final_state = _no_final_state(reason)
    gaps: list[str] = []
    ops: list[Op] = []
    history_readable = True
    try:
        ops = load_history(history_path)
    except (OSError, RunFileError) as error:
        history_readable = False
        gaps.append(f"history unreadable: {error}")
    fault_windows: list[FaultWindow] = []
    try:
        fault_windows = load_faults(run_dir / FAULTS_FILE)
    except (OSError, RunFileError) as error:
        gaps.append(f"faults unreadable (a fault may have been active unseen): {error}")
    return RunInputs(ops, fault_windows, final_state, (*gaps, *final_gaps), history_readable)


def _no_final_state(reason: str) -> FinalState:
    # Incomplete reads: every checker that needs them says unknown with this reason.
    return parse_final_state(
        {"complete": False, "errors": [reason], "read_time": 0, **{name: [] for name in ROW_LISTS}}
    )
