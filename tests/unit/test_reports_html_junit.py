"""report.html and junit.xml, rendered from hand-written runs: what a reader and a CI system
see for valid, invalid, unknown and incomplete runs."""

import dataclasses
import json
import xml.etree.ElementTree as ElementTree

from invariants import CHECKERS, check_all
from invariants.model.provenance import encode_provenance
from reports import render_html, render_junit
from reports.report_html import GUARANTEES, reproduce_command
from reports.report_json import build_report
from scenarios.provenance import PROJECT_ROOT, collect_provenance
from scenarios.scenario import SCENARIO_DIRECTORY, load_scenario
from tests.unit.test_invariants_builders import REFUND_AMOUNT, STEP_NS, Run, clean_run

NAMES = ["no_double_charge", "no_lost_write", "ledger_conservation", "liveness"]


def report_of(run: Run, *, gaps=(), defects=()) -> dict:
    inputs = dataclasses.replace(run.inputs(), gaps=tuple(gaps))
    results = check_all(inputs, NAMES)
    provenance = {"git_commit": "0123abc", "defects": list(defects), "scenario": "baseline"}
    report = build_report(
        inputs,
        results,
        run_id="r1",
        scenario="baseline",
        seed=7,
        provenance=provenance,
        duration_s=2.0,
    )
    return json.loads(json.dumps(report))


def double_charged() -> Run:
    run = clean_run()
    run.fault("network-timeout-1", STEP_NS, 3 * STEP_NS)
    # A second approval for k1's charge: money moved twice.
    run.authorization("ch_1")
    return run


def cases(text: str) -> dict[str, ElementTree.Element]:
    suite = ElementTree.fromstring(text.encode())
    return {case.get("name"): case for case in suite.iter("testcase")}


def test_junit_has_one_case_per_invariant_and_a_failure_with_its_explanation():
    report = report_of(double_charged())
    found = cases(render_junit(report))
    assert list(found) == NAMES
    failure = found["no_double_charge"].find("failure")
    assert failure is not None and "moved money 2 times" in failure.text
    assert found["no_lost_write"].find("failure") is None


def test_junit_counts_unknown_as_an_error_never_a_pass():
    run = clean_run()
    run.complete = False
    report = report_of(run)
    found = cases(render_junit(report))
    assert found["liveness"].find("error") is not None
    suite = ElementTree.fromstring(render_junit(report).encode())
    assert int(suite.get("errors")) >= 1


def test_junit_names_the_gaps_of_an_incomplete_run():
    report = report_of(clean_run(), gaps=["faults unreadable: missing"])
    run_complete = cases(render_junit(report))["run_complete"]
    assert "faults unreadable" in run_complete.find("error").text


def test_html_has_the_verdict_a_row_per_invariant_and_the_timeline():
    report = report_of(double_charged(), defects=["no-idempotency"])
    html = render_html(report)
    assert 'data-verdict="invalid"' in html
    assert html.count('class="invariant"') == len(NAMES)
    assert "<svg" in html and "network-timeout-1" in html
    assert "PAYCHAOS_SUT_DEFECTS=no-idempotency" in html
    assert "--seed 7" in html
    # Self-contained: nothing is fetched, nothing runs.
    for external in ('src="', "<link", "@import", "url(http", "<script"):
        assert external not in html


def test_html_escapes_what_the_evidence_quotes():
    run = double_charged()
    run.paid("<script>alert(1)</script>", "ch_9")
    run.authorization("ch_9")
    report = report_of(run)
    html = render_html(report)
    assert "<script>alert(1)" not in html
    assert "&lt;script&gt;alert(1)" in html or "\\u003cscript\\u003e" in html


def test_html_of_an_incomplete_run_says_it_is_not_valid():
    report = report_of(clean_run(), gaps=["final state unreadable: missing"])
    html = render_html(report)
    assert 'data-verdict="unknown"' in html
    assert "Incomplete run" in html


def test_every_invariant_says_in_plain_words_what_it_guarantees():
    assert set(GUARANTEES) == set(CHECKERS)


def test_evidence_quoting_a_history_value_is_written_as_its_json_object():
    run = clean_run()
    run.read_op("r1", "refund", "re_1", amount=REFUND_AMOUNT + 1)

    report = report_of(run)

    (entry,) = [entry for entry in report["invariants"] if entry["name"] == "no_lost_write"]
    (anomaly,) = entry["anomalies"]
    assert anomaly["kind"] == "read_back_refund_differs"
    assert anomaly["evidence"]["read_value"]["amount"] == REFUND_AMOUNT + 1


def _reproduce_line(name_or_path: str) -> str:
    scenario = load_scenario(name_or_path, seed=7)
    provenance = collect_provenance(scenario=scenario, seed=7, defects=[], postgres_bindir=None)
    report = report_of(clean_run()) | {"provenance": encode_provenance(provenance)}
    [line] = [line for line in reproduce_command(report).splitlines() if "paychaos run" in line]
    return line


def test_the_reproduce_line_names_a_bundled_scenario_by_name():
    absolute = str(SCENARIO_DIRECTORY / "baseline.yaml")
    for given in ("baseline", absolute, "scenarios/files/baseline.yaml"):
        assert _reproduce_line(given) == ".venv/bin/paychaos run baseline --seed 7", given


def test_the_reproduce_line_names_a_project_file_relative_to_the_project():
    absolute = PROJECT_ROOT / "tests" / "integration" / "seeded.yaml"
    assert _reproduce_line(str(absolute)) == (
        ".venv/bin/paychaos run tests/integration/seeded.yaml --seed 7"
    )


def test_the_reproduce_line_keeps_a_path_outside_the_project_as_given(tmp_path):
    outside = tmp_path / "mine.yaml"
    outside.write_bytes((SCENARIO_DIRECTORY / "baseline.yaml").read_bytes())
    assert _reproduce_line(str(outside)) == f".venv/bin/paychaos run {outside} --seed 7"
