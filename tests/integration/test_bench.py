"""`paychaos bench` end to end on a tiny ladder: it writes bench.json and bench.md of the
documented shape, measures what each phase commits, and leaves nothing running."""

import json

import pytest

from tests.integration.conftest import assert_nothing_left, paychaos
from tests.unit.test_bench import write_history

pytestmark = pytest.mark.integration

# Topology start, two steps on each ladder, pgbench and the statement counts: about a minute.
BENCH_TIMEOUT_S = 300
KINDS = ("charge", "refund", "payout")
STEP_FIELDS = {"offered", "definitive", "achieved_per_s", "p50_ms", "p95_ms", "p99_ms", "errors"}


def test_a_tiny_bench_writes_its_tables(tmp_path):
    baseline = tmp_path / "baseline"
    baseline.mkdir()
    write_history(baseline)
    out = tmp_path / "bench"
    result = paychaos(
        "bench",
        "--rates", "5,10",
        "--step-s", "1",
        "--merchants", "2",
        "--pgbench-clients", "2",
        "--pgbench-s", "1",
        "--statements", "2",
        "--baseline-run", str(baseline),
        "--out", str(out),
        runs_dir=tmp_path,
        timeout_s=BENCH_TIMEOUT_S,
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    bench = json.loads((out / "bench.json").read_text())
    assert bench["schema_version"] == 1
    for ladder in ("proxied", "direct"):
        steps = bench["ladders"][ladder]
        assert [step["rate_per_s"] for step in steps] == [5.0, 10.0]
        for step in steps:
            assert set(step["kinds"]) == set(KINDS)
            assert all(set(step["kinds"][kind]) >= STEP_FIELDS for kind in KINDS)
            assert step["kinds"]["charge"]["offered"] > 0
    assert [run["clients"] for run in bench["pgbench"]] == [2]
    assert bench["pgbench"][0]["tps"] > 0
    costs = bench["primary_costs"]
    # Claim, create and resolve: three statements, each its own durable transaction.
    assert costs["charge"]["statements"] == 3.0
    assert costs["charge"]["durable_commits"] >= 3.0
    assert costs["refund"]["durable_commits"] >= 3.0
    assert costs["payout"]["durable_commits"] >= 3.0
    assert bench["idempotency_keys"]["vacuumed"]["keys"] > 0
    assert bench["workload_calls"]["charge_key_calls"] == 2.5
    assert bench["goals"]["ratio_goal"] == 0.25
    assert set(bench["capacity_model"]) >= {"statements_per_charge", "key_bytes", "pgbench_tps"}
    report = (out / "bench.md").read_text()
    for title in ("## Goals", "## Ladder:", "## pgbench", "## Capacity model"):
        assert title in report
    assert "## Capacity model" in result.stdout
    assert_nothing_left(out)
