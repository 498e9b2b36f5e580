"""Renderers of a run's results: report.json, summary.md, manifest.json, and exit codes.

Nothing here touches a network; every file is written atomically (temp file + os.replace).

>>> report = build_report(inputs, results, run_id="r1", scenario="baseline", seed=7,
...     provenance={"git_commit": "abc"}, duration_s=60.0)  # doctest: +SKIP
>>> write_report(run_dir, report)  # doctest: +SKIP
>>> write_manifest(run_dir, {"git_commit": "abc", "seed": 7})  # doctest: +SKIP
>>> exit_code(report["verdict"])  # doctest: +SKIP
0
"""

from reports.atomic import write_atomic
from reports.exit_codes import (
    EXIT_HARNESS_ERROR,
    EXIT_INVALID,
    EXIT_SAME_VERDICT,
    EXIT_UNKNOWN,
    EXIT_VALID,
    EXIT_VERDICTS_DIFFER,
    exit_code,
)
from reports.junit_xml import render_junit
from reports.manifest import MANIFEST_FILE, build_manifest, write_manifest
from reports.report_html import render_html
from reports.report_json import (
    REPORT_ANOMALIES_MAX,
    SCHEMA_VERSION,
    build_report,
    render_report_json,
)
from reports.run_report import HTML_FILE, JUNIT_FILE, REPORT_FILE, SUMMARY_FILE, write_report
from reports.summary_md import render_summary

__all__ = [
    "EXIT_HARNESS_ERROR",
    "EXIT_INVALID",
    "EXIT_SAME_VERDICT",
    "EXIT_UNKNOWN",
    "EXIT_VALID",
    "EXIT_VERDICTS_DIFFER",
    "HTML_FILE",
    "JUNIT_FILE",
    "MANIFEST_FILE",
    "REPORT_ANOMALIES_MAX",
    "REPORT_FILE",
    "SCHEMA_VERSION",
    "SUMMARY_FILE",
    "build_manifest",
    "build_report",
    "exit_code",
    "render_html",
    "render_junit",
    "render_report_json",
    "render_summary",
    "write_atomic",
    "write_manifest",
    "write_report",
]
