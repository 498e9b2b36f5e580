"""report.json, summary.md, manifest.json: the contract keys, hashes, and atomic writes."""

import hashlib
import json
import os

import pytest

from invariants import (
    Anomaly,
    InvariantResult,
    RunInputs,
    Verdict,
    check_all,
    parse_faults,
    parse_history,
)
from reports import (
    EXIT_HARNESS_ERROR,
    build_report,
    exit_code,
    report_json,
    write_atomic,
    write_manifest,
    write_report,
)
from tests.unit.test_invariants_builders import STEP_NS, Run, clean_run

PROVENANCE = {"git_commit": "0123abc", "scenario": "baseline", "config": {"clients": 4}}


def write(run_dir, run: Run, results=None, **overrides):
    inputs = RunInputs(parse_history(run.events), parse_faults(run.fault_events), run.final_state())
    if results is None:
        results = check_all(inputs, ["no_double_charge", "no_lost_write", "liveness"])
    arguments = {
        "run_id": "20240101-baseline-7",
        "scenario": "baseline",
        "seed": 7,
        "provenance": PROVENANCE,
        "duration_s": 12.5,
    }
    report = build_report(inputs, results, **(arguments | overrides))
    write_report(run_dir, report)
    return report


def stray_files(run_dir):
    return [path.name for path in run_dir.rglob("*") if path.name.startswith(".")]


def test_report_json_has_the_contract_keys(tmp_path):
    run = clean_run()
    run.fault("network-timeout-1", STEP_NS, 3 * STEP_NS)

    returned = write(tmp_path, run)

    report = json.loads((tmp_path / "report.json").read_text())
    assert report == returned
    assert report["schema_version"] == 1
    assert (report["run_id"], report["scenario"], report["seed"]) == (
        "20240101-baseline-7",
        "baseline",
        7,
    )
    assert report["verdict"] == "valid"
    assert [entry["name"] for entry in report["invariants"]] == [
        "no_double_charge",
        "no_lost_write",
        "liveness",
    ]
    entry = report["invariants"][0]
    assert {"name", "verdict", "anomaly_count", "anomalies"} <= entry.keys()
    assert report["stats"]["ops"]["charge"] == {"ok": 2, "fail": 1, "info": 0}
    assert report["stats"]["duration_s"] == 12.5
    assert report["faults"] == [
        {
            "name": "network-timeout-1",
            "fault": "toxic",
            "target": "network",
            "params": {"toxic": "timeout"},
            "start_s": 0.001,
            "stop_s": 0.003,
            "confirmed": True,
            "evidence": {"timeouts": 3},
        }
    ]
    assert report["provenance"] == {"seed": 7, **PROVENANCE}


def test_report_stats_count_keys_recovery_and_authorizations(tmp_path):
    run = clean_run()
    run.op("k9", "info")
    run.op("k9", "ok", charge_id="ch_9")
    run.charge("ch_9", "k9", resolved_by="recovery")
    run.authorization("ch_9")
    run.op("k10", "open")

    stats = write(tmp_path, run)["stats"]

    assert stats["ops"]["charge"] == {"ok": 3, "fail": 1, "info": 2}
    assert stats["keys"]["charge"] == {"count": 5, "succeeded": 3, "failed": 1, "indeterminate": 1}
    assert stats["charges_resolved_by_recovery"] == 1
    assert stats["charges"] == {"FAILED": 1, "PENDING": 0, "PROCESSING": 0, "SUCCEEDED": 3}
    assert stats["network_authorizations"] == {"approved": 3, "declined": 1, "expired": 0}


def test_report_stats_count_refunds_payouts_reads_and_balances(tmp_path):
    run = clean_run()
    run.refund_op("r9", "info", charge_id="ch_2")
    run.refund("re_9", "r9", charge_id="ch_2", resolved_by="recovery")
    run.network_refund("re_9", authorization_id="auth_1")
    run.payout_op("p9", "fail", payout_id="po_9", error="expired_or_unknown")
    run.payout("po_9", "p9", "FAILED")
    run.network_payout("po_9", "expired")
    # A payout key reused by another merchant is another key.
    run.payout_op("p1", "info", merchant="acct_2")

    report = write(tmp_path, run)
    stats = report["stats"]

    assert report["verdict"] == "valid"
    assert stats["ops"]["refund"] == {"ok": 1, "fail": 0, "info": 1}
    assert stats["ops"]["payout"] == {"ok": 1, "fail": 1, "info": 1}
    assert stats["ops"]["read"] == {"ok": 1, "fail": 0, "info": 0}
    assert stats["ops"]["balance"] == {"ok": 1, "fail": 0, "info": 0}
    assert stats["keys"]["refund"] == {"count": 2, "succeeded": 1, "failed": 0, "indeterminate": 1}
    assert stats["keys"]["payout"] == {"count": 3, "succeeded": 1, "failed": 1, "indeterminate": 1}
    assert stats["refunds"] == {"FAILED": 0, "PENDING": 0, "PROCESSING": 0, "SUCCEEDED": 2}
    assert stats["refunds_resolved_by_recovery"] == 1
    assert stats["payouts"] == {"FAILED": 1, "PENDING": 0, "PROCESSING": 0, "SUCCEEDED": 1}
    assert stats["payouts_resolved_by_recovery"] == 0
    assert stats["network_refunds"] == {"approved": 2, "declined": 0, "expired": 0}
    assert stats["network_payouts"] == {"approved": 1, "declined": 0, "expired": 1}
    summary = (tmp_path / "summary.md").read_text()
    assert "| refund | 1 | 0 | 1 |" in summary
    assert "| payout | 3 | 1 | 1 | 1 |" in summary
    assert (
        "| refunds | 0 | 0 | 0 | 2 | 1 | network_refunds: approved 2, declined 0, expired 0 |"
        in (summary)
    )
    assert (
        "| payouts | 1 | 0 | 0 | 1 | 0 | network_payouts: approved 1, declined 0, expired 1 |"
        in (summary)
    )


def test_invalid_invariant_makes_the_report_invalid_with_evidence(tmp_path):
    run = clean_run()
    run.authorization("ch_1")

    report = write(tmp_path, run)

    assert report["verdict"] == "invalid"
    entry = report["invariants"][0]
    assert (entry["verdict"], entry["anomaly_count"]) == ("invalid", 1)
    assert entry["anomalies"][0]["kind"] == "multiple_approved_authorizations"
    assert entry["anomalies"][0]["evidence"]["key"] == "k1"
    assert entry["anomaly_kinds"]["multiple_approved_authorizations"]["count"] == 1


def test_anomalies_beyond_the_cap_are_counted_by_kind(tmp_path, monkeypatch):
    monkeypatch.setattr(report_json, "REPORT_ANOMALIES_MAX", 2)
    anomalies = tuple(Anomaly("phantom_charge", f"charge {n}", {"n": n}) for n in range(5))
    results = [InvariantResult("no_lost_write", Verdict.INVALID, anomalies)]

    entry = write(tmp_path, clean_run(), results)["invariants"][0]

    assert entry["anomaly_count"] == 5
    assert [anomaly["evidence"]["n"] for anomaly in entry["anomalies"]] == [0, 1]
    assert entry["anomalies_truncated"] is True
    kind = entry["anomaly_kinds"]["phantom_charge"]
    assert (kind["count"], kind["first"]["evidence"], kind["last"]["evidence"]) == (
        5,
        {"n": 0},
        {"n": 4},
    )


def test_summary_names_the_verdict_first_then_invariants_and_faults(tmp_path):
    run = clean_run()
    run.authorization("ch_1")
    run.fault("network-timeout-1", 0, STEP_NS, confirmed=False)

    write(tmp_path, run)

    summary = (tmp_path / "summary.md").read_text()
    assert summary.splitlines()[0] == "# Verdict: INVALID"
    assert "exit code 1" in summary
    assert "| no_double_charge | invalid | 1 |" in summary
    assert "| no_lost_write | valid | 0 |" in summary
    assert "| liveness | unknown | 1 |" in summary
    assert "**multiple_approved_authorizations**" in summary
    assert "| network-timeout-1 | toxic | network | 0.000 | 0.001 | no |" in summary
    assert "| charge | 2 | 1 | 0 |" in summary
    assert "- git_commit: 0123abc" in summary


def test_summary_shows_why_a_checker_was_undecided(tmp_path):
    results = [InvariantResult("no_lost_write", Verdict.UNKNOWN, error="KeyError: 'x'")]

    write(tmp_path, clean_run(), results)

    summary = (tmp_path / "summary.md").read_text()
    assert summary.startswith("# Verdict: UNKNOWN")
    assert "| no_lost_write | unknown | 0 | KeyError: 'x' |" in summary


def test_provenance_seed_must_match_the_seed(tmp_path):
    with pytest.raises(ValueError, match="provenance seed 8 differs from seed 7"):
        write(tmp_path, clean_run(), provenance={"seed": 8})


def test_manifest_hashes_every_file_but_itself(tmp_path):
    write(tmp_path, clean_run())
    (tmp_path / "history.jsonl").write_text('{"index": 0}\n')
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "api.log").write_bytes(b"started\n")

    path = write_manifest(tmp_path, PROVENANCE)
    write_manifest(tmp_path, PROVENANCE)

    manifest = json.loads(path.read_text())
    assert path == tmp_path / "manifest.json"
    assert manifest["provenance"] == PROVENANCE
    listed = {entry["path"]: entry for entry in manifest["files"]}
    assert sorted(listed) == [
        "history.jsonl",
        "junit.xml",
        "logs/api.log",
        "report.html",
        "report.json",
        "summary.md",
    ]
    for name, entry in listed.items():
        content = (tmp_path / name).read_bytes()
        assert entry["sha256"] == hashlib.sha256(content).hexdigest()
        assert entry["size"] == len(content)


def test_writes_leave_no_temp_files(tmp_path):
    write(tmp_path, clean_run())
    write_manifest(tmp_path, PROVENANCE)

    assert stray_files(tmp_path) == []
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        "junit.xml",
        "manifest.json",
        "report.html",
        "report.json",
        "summary.md",
    ]


def test_failed_render_leaves_the_previous_report_whole(tmp_path):
    write(tmp_path, clean_run())
    before = (tmp_path / "report.json").read_text()

    with pytest.raises(TypeError):
        write(tmp_path, clean_run(), provenance={"config": object()})

    assert (tmp_path / "report.json").read_text() == before
    assert stray_files(tmp_path) == []


def test_failed_replace_removes_the_temp_file(tmp_path, monkeypatch):
    target = tmp_path / "report.json"
    target.write_text("old")

    def failing_replace(source, destination):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError, match="disk full"):
        write_atomic(target, "new")

    assert target.read_text() == "old"
    assert stray_files(tmp_path) == []


def test_write_report_needs_an_existing_run_directory(tmp_path):
    with pytest.raises(NotADirectoryError):
        write(tmp_path / "missing", clean_run())


@pytest.mark.parametrize(
    ("verdict", "code"),
    [(Verdict.VALID, 0), ("invalid", 1), (Verdict.UNKNOWN, 2)],
)
def test_exit_code_per_verdict(verdict, code):
    assert exit_code(verdict) == code


def test_exit_code_refuses_what_is_no_verdict():
    assert EXIT_HARNESS_ERROR == 3
    with pytest.raises(ValueError):
        exit_code("error")


def _attempt(run: Run, key: str, outcome: str, payment: str, **fields) -> None:
    """A charge attempt of the logical payment ``payment`` under ``key``."""
    index = run.op(key, outcome, **fields)
    run.events[index]["value"]["payment"] = payment


def test_stats_count_the_careless_clients_duplicates_apart_from_the_system(tmp_path):
    run = clean_run()
    # Payment k20: its first attempt timed out but charged; the retry under a new key charged
    # again. Each key moved money once: no anomaly of the system, one duplicate of the client.
    _attempt(run, "k20", "info", "k20")
    _attempt(run, "k20-a2", "ok", "k20", charge_id="ch_21")
    for charge_id, key in (("ch_20", "k20"), ("ch_21", "k20-a2")):
        run.charge(charge_id, key)
        run.authorization(charge_id)
    # Payment k30 sent under two keys, only one of which moved money: no duplicate.
    _attempt(run, "k30", "info", "k30")
    _attempt(run, "k30-a2", "ok", "k30", charge_id="ch_30")
    run.charge("ch_30", "k30-a2")
    run.authorization("ch_30")

    report = write(tmp_path, run)

    assert report["verdict"] == "valid"
    assert report["stats"]["payments"] == {
        "charge": {"count": 5, "multiple_keys": 2, "duplicated": 1, "duplicate_movements": 1},
        "refund": {"count": 1, "multiple_keys": 0, "duplicated": 0, "duplicate_movements": 0},
        "payout": {"count": 1, "multiple_keys": 0, "duplicated": 0, "duplicate_movements": 0},
    }
    summary = (tmp_path / "summary.md").read_text()
    assert "| charge | 5 | 2 | 1 | 1 |" in summary


def test_a_key_that_moved_money_twice_is_the_systems_not_the_clients(tmp_path):
    run = clean_run()
    run.charge("ch_1b", "k1")
    run.authorization("ch_1b")

    report = write(tmp_path, run)

    assert report["invariants"][0]["verdict"] == "invalid"
    assert report["stats"]["payments"]["charge"] == {
        "count": 3,
        "multiple_keys": 0,
        "duplicated": 0,
        "duplicate_movements": 0,
    }
