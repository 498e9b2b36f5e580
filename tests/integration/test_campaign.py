"""The walking skeleton end to end: a short baseline is valid, and a known bug is caught."""

import json
import subprocess
from collections import defaultdict
from pathlib import Path

import pytest

from invariants.model.endpoints import load_endpoints, load_merchants
from invariants.model.files import (
    ENDPOINTS_FILE,
    FAULTS_FILE,
    FINAL_STATE_FILE,
    HISTORY_FILE,
    MANIFEST_FILE,
    MERCHANTS_FILE,
    REPORT_FILE,
    SCENARIO_FILE,
    SUMMARY_FILE,
)
from invariants.model.final_state import load_final_state
from scenarios.provenance import scenario_reference
from tests.integration.conftest import assert_nothing_left, paychaos

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def baseline_run(runs_dir, short_scenarios):
    return paychaos("run", str(short_scenarios("baseline")), runs_dir=runs_dir / "baseline")


@pytest.fixture(scope="module")
def defect_run(runs_dir, short_scenarios):
    return paychaos(
        "run",
        str(short_scenarios("baseline")),
        runs_dir=runs_dir / "defect",
        environment={"PAYCHAOS_SUT_DEFECTS": "network-retry-on-timeout"},
    )


def test_short_baseline_is_valid(baseline_run):
    assert baseline_run.exit_code == 0, baseline_run.stdout + baseline_run.stderr
    report = baseline_run.report()
    assert report["verdict"] == "valid"
    assert {result["name"]: result["verdict"] for result in report["invariants"]} == {
        "no_double_charge": "valid",
        "no_lost_write": "valid",
        "no_stale_balance_approval": "valid",
        "idempotent_replay": "valid",
        "legal_state_transitions": "valid",
        "ledger_conservation": "valid",
        "network_reconciliation": "valid",
        "liveness": "valid",
    }
    assert "verdict: valid" in baseline_run.stdout
    assert str(baseline_run.run_dir / "report.json") in baseline_run.stdout


def test_faults_took_effect_and_left_work_to_recovery(baseline_run):
    report = baseline_run.report()
    assert sorted(fault["name"] for fault in report["faults"]) == [
        "api-crash-mid-processing",
        "network-latency",
        "network-timeout",
    ]
    assert all(fault["confirmed"] for fault in report["faults"])
    assert report["stats"]["ops"]["charge"]["ok"] > 0
    assert report["stats"]["ops"]["charge"]["info"] > 0
    # The timeout and the crash leave authorizations whose outcome only recovery can know.
    assert report["stats"]["charges_resolved_by_recovery"] > 0


def test_baseline_uses_every_op_kind(baseline_run):
    ops = baseline_run.report()["stats"]["ops"]
    for f in ("charge", "refund", "payout", "balance", "read"):
        assert ops[f]["ok"] > 0, (f, ops)
    # Every acknowledged write was read back.
    written = sum(ops[f]["ok"] for f in ("charge", "refund", "payout"))
    assert ops["read"]["ok"] + ops["read"]["fail"] + ops["read"]["info"] == written


def test_baseline_ledger_balances(baseline_run):
    state = load_final_state(baseline_run.run_dir / FINAL_STATE_FILE)
    assert state.complete and state.ledger_entries
    by_transaction: dict[int, int] = defaultdict(int)
    by_account: dict[int, int] = defaultdict(int)
    for entry in state.ledger_entries:
        by_transaction[entry.transaction_id] += entry.amount
        by_account[entry.account_id] += entry.amount
    assert {total for total in by_transaction.values()} == {0}
    for account in state.ledger_accounts:
        assert account.balance == by_account[account.id], account
    # Once every movement is final, nothing is left reserved in the clearing accounts.
    clearing = [a for a in state.ledger_accounts if a.kind.endswith("_clearing")]
    assert clearing and {account.balance for account in clearing} == {0}


def test_run_directory_holds_every_artifact(baseline_run):
    for name in (
        SCENARIO_FILE,
        HISTORY_FILE,
        FAULTS_FILE,
        FINAL_STATE_FILE,
        REPORT_FILE,
        SUMMARY_FILE,
        MANIFEST_FILE,
        ENDPOINTS_FILE,
        MERCHANTS_FILE,
        "logs/api.log",
        "logs/pg-primary.log",
        "logs/network.log",
    ):
        assert (baseline_run.run_dir / name).is_file(), name
    assert not (baseline_run.run_dir / "pg" / "primary").exists()
    endpoints = load_endpoints(baseline_run.run_dir / ENDPOINTS_FILE)
    assert load_merchants(baseline_run.run_dir / MERCHANTS_FILE) == endpoints.merchants


def test_nothing_is_left_running(baseline_run):
    assert_nothing_left(baseline_run.run_dir)


def test_analyze_rechecks_the_stored_run(baseline_run, runs_dir):
    result = paychaos("analyze", str(baseline_run.run_dir), runs_dir=runs_dir)
    assert result.exit_code == 0, result.stderr
    assert "verdict: valid" in result.stdout


def test_retry_on_timeout_defect_is_a_double_charge(defect_run):
    assert defect_run.exit_code == 1, defect_run.stdout + defect_run.stderr
    report = defect_run.report()
    assert report["verdict"] == "invalid"
    verdicts = {result["name"]: result for result in report["invariants"]}
    double = verdicts["no_double_charge"]
    assert double["verdict"] == "invalid"
    assert double["anomaly_count"] > 0
    assert "no_double_charge" in defect_run.stdout
    assert_nothing_left(defect_run.run_dir)


SEEDED = Path(__file__).parent / "seeded.yaml"


def _schedule(run_dir: Path) -> list[tuple]:
    lines = [json.loads(line) for line in (run_dir / "faults.jsonl").read_text().splitlines()]
    return [
        (line["type"], line["name"], line["fault"], line["target"], line["params"])
        for line in lines
    ]


def _rolls(run_dir: Path) -> tuple[int, dict[tuple, bool]]:
    document = json.loads((run_dir / "toxicity_decisions.json").read_text())
    rolls = {
        (d["proxy"], d["connection"], d["stream"], d["toxic"], d["revision"]): d["affected"]
        for d in document["decisions"]
    }
    return document["seed"], rolls


def test_one_seed_gives_the_same_schedule_and_toxicity_decisions(runs_dir):
    first = paychaos("run", str(SEEDED), runs_dir=runs_dir / "seeded-1")
    second = paychaos("run", str(SEEDED), runs_dir=runs_dir / "seeded-2")
    assert first.exit_code in (0, 2) and second.exit_code in (0, 2), first.stderr + second.stderr
    assert _schedule(first.run_dir) == _schedule(second.run_dir)
    seed_one, rolls_one = _rolls(first.run_dir)
    seed_two, rolls_two = _rolls(second.run_dir)
    assert seed_one == seed_two == 23
    common = set(rolls_one) & set(rolls_two)
    # The same connections of the same proxy rolled alike; and at 0.5 both outcomes came up.
    assert common, (len(rolls_one), len(rolls_two))
    assert {key: rolls_one[key] for key in common} == {key: rolls_two[key] for key in common}
    assert set(rolls_one.values()) == {True, False}


# Chromium starts in a few seconds; a hang must not stall the suite.
CHROMIUM_TIMEOUT_S = 90


def _chromium(*arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["chromium", "--headless", "--no-sandbox", "--disable-gpu", *arguments],
        capture_output=True,
        text=True,
        timeout=CHROMIUM_TIMEOUT_S,
        check=True,
    )


@pytest.mark.parametrize("run_name", ["baseline_run", "defect_run"])
def test_report_html_opens_in_a_browser_with_its_verdict_and_every_invariant(
    run_name, request, tmp_path, short_scenarios
):
    run = request.getfixturevalue(run_name)
    report = run.report()
    page = (run.run_dir / "report.html").as_uri()
    dom = _chromium("--dump-dom", page).stdout
    assert f'data-verdict="{report["verdict"]}"' in dom
    for entry in report["invariants"]:
        assert f'data-name="{entry["name"]}"' in dom
    assert "<svg" in dom
    # The scenario as `paychaos run` finds it again (the short baseline is a file of the test's).
    scenario = scenario_reference(str(short_scenarios("baseline")))
    reproduce = f"paychaos run {scenario} --seed {report['seed']}"
    assert reproduce in dom
    screenshot = tmp_path / "report.png"
    _chromium(f"--screenshot={screenshot}", "--window-size=1200,2000", page)
    assert screenshot.stat().st_size > 10_000
    junit = (run.run_dir / "junit.xml").read_text()
    assert junit.count("<testcase") == len(report["invariants"])
    assert ("<failure" in junit) == (report["verdict"] == "invalid")
