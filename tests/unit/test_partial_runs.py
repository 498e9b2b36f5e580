"""An interrupted or crashed run is analyzed as far as it can be: never valid, never a harness
error while it has a history."""

import dataclasses
import json

from invariants import FAULTS_FILE, FINAL_STATE_FILE, HISTORY_FILE
from invariants.model.files import REPORT_FILE, SCENARIO_FILE
from invariants.model.provenance import encode_provenance
from scenarios.campaign import check_and_report
from scenarios.cli import main
from scenarios.run_files import write_scenario
from scenarios.scenario import load_scenario
from tests.unit.test_invariants_builders import clean_run
from tests.unit.test_run_file_model import PROVENANCE

NAMES = [
    "no_double_charge",
    "no_lost_write",
    "no_stale_balance_approval",
    "ledger_conservation",
    "network_reconciliation",
    "liveness",
]


def write_run(run_dir, *, history=True, faults=True, final_state=True):
    """A clean run's files; each one can be left out."""
    run = clean_run()
    run_dir.mkdir(parents=True, exist_ok=True)
    scenario = load_scenario("baseline", seed=7)
    write_scenario(run_dir, dataclasses.replace(scenario, invariants=tuple(NAMES)))
    if history:
        lines = [json.dumps(event) for event in run.events]
        (run_dir / HISTORY_FILE).write_text("\n".join(lines) + "\n")
    if faults:
        (run_dir / FAULTS_FILE).write_text("")
    if final_state:
        (run_dir / FINAL_STATE_FILE).write_text(json.dumps(run.document()))
    return run_dir


def check(run_dir):
    return check_and_report(
        run_dir,
        run_id=run_dir.name,
        scenario_name="baseline",
        seed=7,
        names=NAMES,
        provenance={},
        duration_s=1.0,
    )


def verdicts(report) -> dict[str, str]:
    return {entry["name"]: entry["verdict"] for entry in report["invariants"]}


def test_a_whole_run_is_valid_and_has_no_gaps(tmp_path):
    verdict, report = check(write_run(tmp_path / "run"))
    assert verdict == "valid"
    assert report["gaps"] == []


def test_a_run_stopped_before_its_final_reads_is_unknown_with_the_reason(tmp_path):
    verdict, report = check(write_run(tmp_path / "run", final_state=False))
    assert verdict == "unknown"
    assert len(report["gaps"]) == 1
    assert "final state unreadable" in report["gaps"][0]
    assert set(verdicts(report).values()) == {"unknown"}
    summary = (tmp_path / "run" / "summary.md").read_text()
    assert "Incomplete run" in summary


def test_missing_faults_keep_a_run_from_being_valid_though_every_check_passes(tmp_path):
    verdict, report = check(write_run(tmp_path / "run", faults=False))
    assert set(verdicts(report).values()) == {"valid"}
    assert verdict == "unknown"
    assert "faults unreadable" in report["gaps"][0]


def test_a_truncated_history_still_runs_the_final_state_checks(tmp_path):
    run_dir = write_run(tmp_path / "run")
    history = run_dir / HISTORY_FILE
    history.write_text(history.read_text() + '{"index": 99, "ti')
    verdict, report = check(run_dir)
    assert verdict == "unknown"
    found = verdicts(report)
    assert found["no_lost_write"] == "unknown"
    assert found["ledger_conservation"] == "valid"
    assert found["network_reconciliation"] == "valid"


def test_a_final_state_check_still_finds_a_violation_in_a_partial_run(tmp_path):
    run_dir = write_run(tmp_path / "run", faults=False)
    document = json.loads((run_dir / FINAL_STATE_FILE).read_text())
    document["ledger_accounts"][0]["balance"] += 1
    (run_dir / FINAL_STATE_FILE).write_text(json.dumps(document))
    verdict, _ = check(run_dir)
    assert verdict == "invalid"


def test_analyze_of_an_interrupted_run_exits_unknown(tmp_path, capsys):
    run_dir = write_run(tmp_path / "run", final_state=False)
    assert main(["analyze", str(run_dir)]) == 2
    out = capsys.readouterr().out
    assert "verdict: unknown" in out
    assert "incomplete run: final state unreadable" in out


def test_analyze_without_a_history_is_a_harness_error(tmp_path, capsys):
    run_dir = write_run(tmp_path / "run", history=False)
    assert main(["analyze", str(run_dir)]) == 3
    assert "no history" in capsys.readouterr().err


def test_analyze_keeps_the_stored_provenance_and_reproduces_the_verdict(tmp_path, capsys):
    run_dir = write_run(tmp_path / "run")
    stored = encode_provenance(PROVENANCE)
    verdict, _ = check_and_report(
        run_dir,
        run_id="run",
        scenario_name="baseline",
        seed=7,
        names=NAMES,
        provenance=stored,
        duration_s=1.0,
    )

    assert main(["analyze", str(run_dir)]) == 0
    report = json.loads((run_dir / REPORT_FILE).read_text())
    assert verdict == report["verdict"] == "valid"
    assert report["provenance"] == stored


def test_analyze_with_a_broken_stored_provenance_says_so_and_still_checks(tmp_path, capsys):
    run_dir = write_run(tmp_path / "run")
    (run_dir / REPORT_FILE).write_text(json.dumps({"provenance": {"seed": "seven"}}))

    assert main(["analyze", str(run_dir)]) == 0
    assert "no readable provenance" in capsys.readouterr().err


def test_analyze_names_the_broken_field_of_the_stored_scenario(tmp_path, capsys):
    run_dir = write_run(tmp_path / "run")
    path = run_dir / SCENARIO_FILE
    path.write_text(json.dumps(json.loads(path.read_text()) | {"invariants": "all"}))

    assert main(["analyze", str(run_dir)]) == 3
    error = capsys.readouterr().err
    assert error.count("\n") == 1
    assert f"no readable scenario.json ({path}: field 'invariants' must be a list" in error
