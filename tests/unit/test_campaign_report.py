"""The campaign aggregate (`paychaos campaign`): rows from report.json documents, the combined
verdict, interrupted and failed runs, and the Markdown an auditor reads."""

import pytest

from reports.campaign_report import (
    build_campaign,
    failed_run,
    render_campaign_md,
    run_from_report,
    run_line,
)
from tests.unit.report_builders import report


def row(verdict="valid", *, scenario="baseline", seed=7):
    kinds = {"double_charge": 2} if verdict == "invalid" else {}
    document = report(
        scenario=scenario,
        seed=seed,
        invariants={"no_double_charge": (verdict, kinds), "liveness": ("valid", {})},
        confirmed=(True, False),
    )
    return run_from_report(document, wall_s=12.345, run_dir=f"/runs/{scenario}-{seed}")


def campaign(runs, *, planned=None, interrupted=False):
    if planned is None:
        planned = [(run.scenario, run.seed) for run in runs]
    return build_campaign(
        runs,
        planned=planned,
        interrupted=interrupted,
        defects=[],
        started_at="2026-01-01T00:00:00+00:00",
        wall_s=42.0,
    )


def test_a_row_holds_each_invariants_verdict_anomalies_and_faults():
    run = row("invalid")
    assert (run.scenario, run.seed, run.verdict) == ("baseline", 7, "invalid")
    assert run.invariants == {"no_double_charge": "invalid", "liveness": "valid"}
    assert run.anomalies == {"no_double_charge": 2, "liveness": 0}
    assert (run.faults_confirmed, run.faults_total) == (1, 2)
    assert run.wall_s == 12.3
    assert run.run_dir == "/runs/baseline-7"
    assert run.error is None


@pytest.mark.parametrize(
    ("verdicts", "combined"),
    [
        (["valid", "valid"], "valid"),
        (["valid", "unknown"], "unknown"),
        (["unknown", "invalid", "valid"], "invalid"),
        ([], "unknown"),
    ],
)
def test_the_campaign_verdict_is_invalid_over_unknown_over_valid(verdicts, combined):
    runs = [row(verdict, seed=seed) for seed, verdict in enumerate(verdicts)]
    document = campaign(runs)
    assert document["verdict"] == combined
    assert document["finished"] == document["planned"] == len(verdicts)


def test_a_harness_error_is_an_unknown_run_with_its_reason():
    failed = failed_run(
        scenario="partition-db", seed=8, reason="DeployError: port 5432 taken", wall_s=1.0
    )
    document = campaign([row("valid"), failed])
    assert document["verdict"] == "unknown"
    assert document["runs"][1]["error"] == "DeployError: port 5432 taken"
    assert document["verdicts"] == {"valid": 1, "unknown": 1}
    assert "harness error: DeployError: port 5432 taken" in run_line(failed)


def test_an_interrupted_campaign_is_unknown_though_every_finished_run_is_valid():
    planned = [("baseline", 7), ("baseline", 8), ("retry-storm", 7)]
    document = campaign([row("valid")], planned=planned, interrupted=True)
    assert document["verdict"] == "unknown"
    assert document["interrupted"] is True
    assert document["finished"] == 1
    assert document["unfinished"] == [
        {"scenario": "baseline", "seed": 8},
        {"scenario": "retry-storm", "seed": 7},
    ]
    markdown = render_campaign_md(document)
    assert "**Interrupted**" in markdown
    assert "- `retry-storm` seed 7" in markdown


def test_an_invalid_run_still_decides_an_interrupted_campaign():
    document = campaign([row("invalid")], planned=[("baseline", 7), ("x", 1)], interrupted=True)
    assert document["verdict"] == "invalid"


def test_the_markdown_has_one_table_row_per_run_naming_what_is_not_valid():
    failed = failed_run(scenario="random", seed=3, reason="a | b\nsecond line", wall_s=2.0)
    markdown = render_campaign_md(campaign([row("valid"), row("invalid", seed=8), failed]))
    assert markdown.startswith("# Campaign verdict: INVALID\n")
    rows = [line for line in markdown.splitlines() if line.startswith("| ")]
    assert len(rows) == 1 + 3
    assert "| baseline | 7 | valid | all 2 invariants valid | 0 | 1/2 | 12.3 s |" in rows[1]
    assert "no_double_charge invalid (2)" in rows[2]
    # A pipe or a line break in an error message must not split the table.
    assert "harness error: a \\| b second line" in rows[3]
    assert rows[3].count(" | ") == 7
