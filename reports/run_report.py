"""Writing a run's report files: ``report.json``, ``summary.md``, ``report.html`` and
``junit.xml``."""

from collections.abc import Mapping, Sequence
from pathlib import Path

from invariants import FaultWindow, FinalState, InvariantResult, Op
from invariants.model.files import HTML_FILE, JUNIT_FILE, REPORT_FILE, SUMMARY_FILE
from reports.atomic import write_atomic
from reports.junit_xml import render_junit
from reports.report_html import render_html
from reports.report_json import build_report, render_report_json
from reports.summary_md import render_summary


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
    """Write ``report.json``, ``summary.md``, ``report.html`` and ``junit.xml`` into
    ``run_dir`` (each atomically) and return the report document. All are rendered before
    any is written, so a rendering error leaves none behind.

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
    rendered = {
        REPORT_FILE: render_report_json(report),
        SUMMARY_FILE: render_summary(report),
        HTML_FILE: render_html(report),
        JUNIT_FILE: render_junit(report),
    }
    for name, text in rendered.items():
        write_atomic(run_dir / name, text)
    return report
