"""Writing a run's report files: ``report.json`` and ``summary.md``."""

from collections.abc import Mapping, Sequence
from pathlib import Path

from invariants import FaultWindow, FinalState, InvariantResult, Op
from reports.atomic import write_atomic
from reports.report_json import build_report, render_report_json
from reports.summary_md import render_summary

REPORT_FILE = "report.json"
SUMMARY_FILE = "summary.md"


def write_report(
    run_dir: Path,
    *,
    run_id: str,
    scenario: str,
    seed: int,
    results: Sequence[InvariantResult],
    history_ops: Sequence[Op],
    fault_windows: Sequence[FaultWindow],
    final_state: FinalState,
    provenance: Mapping[str, object],
    duration_s: float,
    gaps: Sequence[str] = (),
) -> dict:
    """Write ``report.json`` and ``summary.md`` into ``run_dir`` (atomically) and return the
    report document. Both are rendered before either is written, so a rendering error
    leaves neither behind.

    >>> report = write_report(Path("reports/runs/r1"), run_id="r1", scenario="baseline",
    ...     seed=7, results=results, history_ops=ops, fault_windows=windows,
    ...     final_state=state, provenance={"git_commit": "abc"}, duration_s=60.0)  # doctest: +SKIP
    >>> exit_code(report["verdict"])  # doctest: +SKIP
    0
    """
    if not run_dir.is_dir():
        raise NotADirectoryError(f"run directory {run_dir} does not exist")
    report = build_report(
        run_id=run_id,
        scenario=scenario,
        seed=seed,
        results=results,
        history_ops=history_ops,
        fault_windows=fault_windows,
        final_state=final_state,
        provenance=provenance,
        duration_s=duration_s,
        gaps=gaps,
    )
    report_text = render_report_json(report)
    summary_text = render_summary(report)
    write_atomic(run_dir / REPORT_FILE, report_text)
    write_atomic(run_dir / SUMMARY_FILE, summary_text)
    return report
