"""Writing a run's report files: ``report.json``, ``summary.md``, ``report.html`` and
``junit.xml``."""

from pathlib import Path

from invariants.model.files import HTML_FILE, JUNIT_FILE, REPORT_FILE, SUMMARY_FILE
from reports.atomic import write_atomic
from reports.junit_xml import render_junit
from reports.report_html import render_html
from reports.report_json import render_report_json
from reports.summary_md import render_summary


def write_report(run_dir: Path, report: dict) -> None:
    """Write ``report`` (from :func:`build_report`) as ``report.json``, ``summary.md``,
    ``report.html`` and ``junit.xml`` into ``run_dir``, each atomically. All are rendered
    before any is written, so a rendering error leaves none behind.

    >>> write_report(Path("reports/runs/r1"), build_report(inputs, results, run_id="r1",
    ...     scenario="baseline", seed=7, provenance={}, duration_s=60.0))  # doctest: +SKIP
    """
    if not run_dir.is_dir():
        raise NotADirectoryError(f"run directory {run_dir} does not exist")
    rendered = {
        REPORT_FILE: render_report_json(report),
        SUMMARY_FILE: render_summary(report),
        HTML_FILE: render_html(report),
        JUNIT_FILE: render_junit(report),
    }
    for name, text in rendered.items():
        write_atomic(run_dir / name, text)
