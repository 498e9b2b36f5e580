"""`paychaos compare RUN_A RUN_B`: what changed between two stored runs, its exit code (0 same
verdict, 1 different), and one-line errors for a missing or broken run."""

import json

import pytest

from reports import EXIT_HARNESS_ERROR, EXIT_SAME_VERDICT, EXIT_VERDICTS_DIFFER
from reports.compare import (
    CompareError,
    compare_runs,
    load_stored_run,
    render_comparison,
    report_problem,
    verdict_line,
)
from scenarios.cli import main
from tests.unit.report_builders import report, write_report_dir

CAUGHT = {
    "no_double_charge": ("invalid", {"double_charge": 3}),
    "liveness": ("valid", {}),
    "no_lost_write": ("unknown", {}),
}


def stored(tmp_path, name, **fields):
    return load_stored_run(write_report_dir(tmp_path / name, report(**fields)))


def test_same_runs_compare_same_and_exit_0(tmp_path):
    comparison = compare_runs(stored(tmp_path, "a"), stored(tmp_path, "b"))
    assert comparison.same_verdict and comparison.same_scenario_and_seed
    assert comparison.exit_code == EXIT_SAME_VERDICT
    assert not any(change.changed for change in comparison.invariants)
    assert verdict_line(comparison) == "verdict: valid in both runs (same)"


def test_a_caught_defect_shows_each_invariants_change_and_exits_1(tmp_path):
    comparison = compare_runs(
        stored(tmp_path, "a"),
        stored(tmp_path, "b", invariants=CAUGHT, defects=("no-idempotency",)),
    )
    assert comparison.exit_code == EXIT_VERDICTS_DIFFER
    changes = {change.name: change for change in comparison.invariants}
    double = changes["no_double_charge"]
    assert (double.verdict_a, double.verdict_b) == ("valid", "invalid")
    assert (double.anomalies_a, double.anomalies_b) == (0, 3)
    assert double.kinds == {"double_charge": (0, 3)}
    assert not changes["liveness"].changed
    # Checked in B only.
    assert (changes["no_lost_write"].verdict_a, changes["no_lost_write"].verdict_b) == (
        None,
        "unknown",
    )
    lines = render_comparison(comparison)
    assert "verdict: valid -> invalid (differs)" in lines
    line = next(line for line in lines if "no_double_charge" in line)
    assert "valid    -> invalid" in line
    assert "anomalies 0 -> 3" in line
    assert "changed" in line and "double_charge 0 -> 3" in line
    assert any(line.startswith("B: ") and "defects no-idempotency" in line for line in lines)


def test_op_counts_faults_and_provenance_side_by_side(tmp_path):
    a = stored(tmp_path, "a", commit="1" * 40)
    b = stored(
        tmp_path,
        "b",
        seed=8,
        commit="2" * 40,
        confirmed=(True, False),
        ops={"charge": {"ok": 9, "fail": 1, "info": 3}, "payout": {"ok": 1, "fail": 0, "info": 0}},
    )
    comparison = compare_runs(a, b)
    assert comparison.same_verdict and not comparison.same_scenario_and_seed
    assert comparison.ops["payout"] == (
        {"ok": 0, "fail": 0, "info": 0},
        {"ok": 1, "fail": 0, "info": 0},
    )
    lines = render_comparison(comparison)
    assert "same scenario and seed: no (baseline seed 7 vs baseline seed 8)" in lines
    assert "faults confirmed: 2/2 -> 1/2 changed" in lines
    charge = next(line for line in lines if line.strip().startswith("charge"))
    assert "10/1/2 -> 9/1/3" in " ".join(charge.split()) and charge.endswith("changed")
    assert any("commit 111111111111 " in line for line in lines)
    assert any("commit 222222222222 " in line for line in lines)


def test_the_manifest_fills_provenance_the_report_lacks(tmp_path):
    document = report()
    del document["provenance"]
    run_dir = write_report_dir(tmp_path / "a", document)
    (run_dir / "manifest.json").write_text(json.dumps({"provenance": {"git_commit": "c" * 40}}))
    assert load_stored_run(run_dir).provenance["git_commit"] == "c" * 40


@pytest.mark.parametrize(
    ("document", "problem"),
    [
        ([], "not a JSON object"),
        ({**report(), "verdict": "maybe"}, "verdict 'maybe' is no verdict"),
        ({**report(), "invariants": [{"name": "x"}]}, "invariants is not a list"),
        ({**report(), "stats": {"ops": {"charge": {"ok": "many"}}}}, "stats.ops"),
        ({**report(), "faults": [{"name": "f"}]}, "faults is not a list"),
        ({**report(), "gaps": "none"}, "gaps is not a list"),
    ],
)
def test_a_document_that_is_no_report_is_named(document, problem):
    assert problem in report_problem(document)


def test_bad_run_directories_are_one_line_errors(tmp_path):
    with pytest.raises(CompareError, match="no run directory at"):
        load_stored_run(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(CompareError, match=r"no report\.json in"):
        load_stored_run(tmp_path / "empty")
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "report.json").write_text('{"verdict": "val')
    with pytest.raises(CompareError, match="is not JSON") as caught:
        load_stored_run(broken)
    assert "\n" not in str(caught.value)


def test_cli_compare_prints_the_differences_and_exits_1(tmp_path, capsys):
    a = write_report_dir(tmp_path / "a", report())
    b = write_report_dir(tmp_path / "b", report(invariants=CAUGHT))
    assert main(["compare", str(a), str(b)]) == EXIT_VERDICTS_DIFFER
    out = capsys.readouterr().out
    assert "verdict: valid -> invalid (differs)" in out
    assert "no_double_charge" in out and "anomalies 0 -> 3" in out
    assert "same scenario and seed: yes" in out


def test_cli_compare_of_equal_verdicts_exits_0(tmp_path, capsys):
    a = write_report_dir(tmp_path / "a", report())
    b = write_report_dir(tmp_path / "b", report(seed=9))
    assert main(["compare", str(a), str(b)]) == EXIT_SAME_VERDICT
    assert "verdict: valid in both runs (same)" in capsys.readouterr().out


def test_cli_compare_quiet_prints_only_the_verdict_line(tmp_path, capsys):
    a = write_report_dir(tmp_path / "a", report())
    b = write_report_dir(tmp_path / "b", report(invariants=CAUGHT))
    assert main(["compare", "--quiet", str(a), str(b)]) == EXIT_VERDICTS_DIFFER
    captured = capsys.readouterr()
    assert captured.out == "verdict: valid -> invalid (differs)\n"
    assert captured.err == ""


@pytest.mark.parametrize("content", [None, "{not json", json.dumps({"verdict": "valid"})])
def test_cli_compare_of_a_missing_or_broken_report_exits_3_with_one_line(tmp_path, capsys, content):
    a = write_report_dir(tmp_path / "a", report())
    b = tmp_path / "b"
    b.mkdir()
    if content is not None:
        (b / "report.json").write_text(content)
    assert main(["compare", str(a), str(b)]) == EXIT_HARNESS_ERROR
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1
    assert captured.err.startswith("paychaos: error: ") and str(b) in captured.err
