"""Retry storms end to end: a storm under one key stays valid, and a careless client's new key
per retry is valid too, its duplicates counted as the client's."""

import json
from pathlib import Path

import pytest

from tests.integration.conftest import HERE, assert_nothing_left, paychaos

pytestmark = pytest.mark.integration

# Checked on every run here; a careless client's keys are never retried, so it has no
# replay for idempotent_replay, which the storm's scenario checks as well.
MONEY_INVARIANTS = (
    "no_double_charge",
    "no_lost_write",
    "no_stale_balance_approval",
    "ledger_conservation",
    "network_reconciliation",
    "liveness",
)

SHORT_CARELESS = HERE / "short_careless_client.yaml"
# Both short scenarios: four attempts of each planned write at once, and one latency fault.
CONCURRENCY_MULTIPLE = 4
FAULT_NAMES = ["network-latency"]
WRITES = ("charge", "refund", "payout")


@pytest.fixture(scope="module")
def storm_run(runs_dir, short_scenarios):
    return paychaos("run", str(short_scenarios("retry-storm")), runs_dir=runs_dir / "retry-storm")


@pytest.fixture(scope="module")
def careless_run(runs_dir):
    return paychaos("run", str(SHORT_CARELESS), runs_dir=runs_dir / "careless-client")


def _history(run_dir: Path) -> list[dict]:
    with (run_dir / "history.jsonl").open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines]


def _assert_valid_with_every_fault_confirmed(run) -> dict:
    assert run.exit_code == 0, run.stdout + run.stderr
    report = run.report()
    verdicts = {entry["name"]: entry["verdict"] for entry in report["invariants"]}
    assert set(verdicts.values()) == {"valid"}, verdicts
    assert set(verdicts) >= set(MONEY_INVARIANTS)
    assert [fault["name"] for fault in report["faults"]] == FAULT_NAMES
    assert all(fault["confirmed"] is True for fault in report["faults"]), report["faults"]
    assert all(fault["stop_s"] is not None for fault in report["faults"])
    assert_nothing_left(run.run_dir)
    return report


def test_a_storm_under_one_key_is_valid_with_its_fault_confirmed(storm_run):
    report = _assert_valid_with_every_fault_confirmed(storm_run)
    stats = report["stats"]
    assert stats["ops"]["charge"]["ok"] > 0
    for f in WRITES:
        # Every planned write went out as four attempts at once under its one key.
        attempts = sum(stats["ops"][f].values())
        assert attempts >= CONCURRENCY_MULTIPLE * stats["keys"][f]["count"], (f, stats)
        assert stats["payments"][f]["count"] == stats["keys"][f]["count"]
        assert stats["payments"][f]["multiple_keys"] == 0
        assert stats["payments"][f]["duplicated"] == 0


def test_a_storm_times_out_meets_its_own_attempts_in_flight_and_is_answered_by_replay(
    storm_run,
):
    completions = [event for event in _history(storm_run.run_dir) if event["type"] != "invoke"]
    errors = {event["error"] for event in completions if event["f"] == "charge"}
    # The late network outlasts the 0.5 s timeout; the other attempts of the key get 409.
    assert {"timeout", "idempotency_key_in_use"} <= errors
    replayed = [
        event
        for event in completions
        if event["f"] == "charge" and event["type"] == "ok" and event["value"]["replayed"]
    ]
    assert replayed


def test_a_careless_client_is_valid_and_its_duplicates_are_counted_as_its_own(careless_run):
    report = _assert_valid_with_every_fault_confirmed(careless_run)
    stats = report["stats"]
    charges = stats["payments"]["charge"]
    assert charges["multiple_keys"] > 0
    # Attempts that timed out went through, and their retries under new keys charged again.
    assert charges["duplicated"] > 0
    assert charges["duplicate_movements"] >= charges["duplicated"]
    for f in WRITES:
        # One attempt at a time, each under a key of its own: as many keys as attempts.
        assert sum(stats["ops"][f].values()) == stats["keys"][f]["count"], (f, stats)
    assert stats["keys"]["charge"]["count"] > charges["count"]
    summary = (careless_run.run_dir / "summary.md").read_text()
    assert f"| charge | {charges['count']} | {charges['multiple_keys']} |" in summary
