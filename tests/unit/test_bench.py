"""The bench's pure parts: the seeded open-loop plan, the per-step figures, the HTTP answer
parser, the capacity model and the API calls per charge counted from a history."""

import json

import pytest

from scenarios.bench import capacity
from scenarios.bench.driver import Sample
from scenarios.bench.http import HttpError, _parse
from scenarios.bench.report import ladder_table
from scenarios.bench.schedule import plan_step
from scenarios.bench.stats import percentile, summarize
from scenarios.bench.workload_calls import calls_per_charge

PLAN = {"rate_per_s": 200, "duration_s": 5, "merchant_count": 3, "debit_share": 0.1}


def test_a_seed_gives_one_plan_and_another_seed_another():
    first = plan_step(seed=7, label="proxied-0", **PLAN)
    assert first == plan_step(seed=7, label="proxied-0", **PLAN)
    assert first != plan_step(seed=8, label="proxied-0", **PLAN)
    assert first != plan_step(seed=7, label="direct-0", **PLAN)


def test_the_plan_is_open_loop_and_keys_are_unique():
    plan = plan_step(seed=7, label="s", **PLAN)
    due = [request.due_s for request in plan.requests]
    assert due == sorted(due)
    assert all(0 <= moment < PLAN["duration_s"] for moment in due)
    assert len({request.key for request in plan.requests}) == len(plan.requests)
    # Poisson arrivals at 200/s for 5 s: a thousand charges give or take a few standard
    # deviations (about 32); refunds and payouts a tenth of that each.
    assert 850 < plan.offered("charge") < 1150
    assert 60 < plan.offered("refund") < 140
    assert 60 < plan.offered("payout") < 140
    assert {request.merchant_index for request in plan.requests} == {0, 1, 2}


def test_latency_counts_from_the_due_time_and_errors_count_too():
    samples = [
        Sample("charge", 0.0, 0.010, "ok"),
        Sample("charge", 0.1, 0.020, "declined"),
        Sample("charge", 0.2, 3.000, "timeout"),
        Sample("refund", 0.3, 0.050, "refused"),
    ]
    figures = summarize(samples, duration_s=1.0)
    charge = figures["charge"]
    assert (charge["offered"], charge["definitive"], charge["errors"]) == (3, 2, {"timeout": 1})
    # The timed-out request is the slowest: it sets p99, as an open loop must show it.
    assert charge["p99_ms"] == 3000.0
    assert charge["p50_ms"] == 20.0
    assert figures["refund"]["outcomes"] == {"refused": 1}
    assert figures["payout"]["offered"] == 0 and figures["payout"]["p99_ms"] is None


def test_answers_after_the_step_stretch_the_window_of_the_achieved_rate():
    late = [Sample("charge", 0.5, 3.5, "ok") for _ in range(8)]
    assert summarize(late, duration_s=1.0)["charge"]["achieved_per_s"] == 2.0


def test_percentile_is_nearest_rank():
    assert percentile([], 50) is None
    assert percentile([float(value) for value in range(1, 101)], 99) == 99.0


def test_the_parser_refuses_what_it_does_not_understand():
    with pytest.raises(HttpError, match="chunked"):
        _parse(bytearray(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"))
    with pytest.raises(HttpError, match="status line"):
        _parse(bytearray(b"SMTP 220 hello\r\n\r\n"))
    status, body, keep_alive, used = _parse(
        bytearray(b"HTTP/1.1 402 X\r\nConnection: close\r\nContent-Length: 1\r\n\r\n{next")
    )
    # The answer ends after its one byte of body; what follows is left for the next.
    assert (status, body, keep_alive, used) == (402, b"{", False, 57)


def test_the_capacity_model_multiplies_the_measured_figures():
    measured = capacity.Measured(
        statements_per_charge=3.0,
        durable_commits_per_charge=3.0,
        wal_bytes_per_charge=6000.0,
        key_bytes=2000.0,
        api_calls_per_charge=3.2,
        charges_per_s_ceiling=250.0,
        pgbench_tps=2000.0,
    )
    rows = dict(capacity.rows(measured))
    # 10M seed, 10M measured, 100M seed, 100M measured.
    assert rows["primary statements/s at peak"] == ["4,060", "1,740", "40,600", "17,400"]
    assert rows["idempotency store at a 24 h TTL"] == ["10.0 GB", "20.0 GB", "100.0 GB", "200.0 GB"]
    assert rows["peak over this machine's SUT ceiling"][1] == "2.32x"
    table = capacity.markdown(measured)
    assert table.count("\n") == len(rows) + 2


def test_a_skipped_step_is_shown_as_skipped():
    table = ladder_table([{"rate_per_s": 800, "duration_s": 8, "skipped": True}])
    assert "| 800 | all |" in table and "skipped" in table


def _history_line(index: int, type_: str, f: str, key: str, value: dict) -> str:
    event = {
        "index": index,
        "time": 1000 + index,
        "process": 0,
        "type": type_,
        "f": f,
        "key": key,
        "value": value,
        "error": None,
    }
    return json.dumps(event)


def write_history(run_dir) -> None:
    """A two-charge workload: one charge retried once after a timeout, each read back."""
    merchant = "acct_1"
    lines = []
    for number, attempts in enumerate((1, 2)):
        key = f"k{number}"
        charge = {"merchant": merchant, "amount": 500, "currency": "usd", "card": "4242"}
        for attempt in range(1, attempts + 1):
            lines.append(("invoke", "charge", key, charge | {"attempt": attempt}))
            if attempt < attempts:
                lines.append(("info", "charge", key, None))
        object_id = f"ch_{number}"
        done = {"charge_id": object_id, "status": "succeeded", "amount": 500, "replayed": False}
        lines.append(("ok", "charge", key, done))
        lines.append(
            ("invoke", "read", key, {"merchant": merchant, "object": "charge", "id": object_id})
        )
        lines.append(("ok", "read", key, {"id": object_id, "status": "succeeded", "amount": 500}))
    text = []
    process = 0
    for index, (type_, f, key, value) in enumerate(lines):
        line = json.loads(_history_line(index, type_, f, key, value))
        line["process"] = process
        if type_ == "info":
            process += 1  # a process whose op ended info is retired
        text.append(json.dumps(line))
    (run_dir / "history.jsonl").write_text("\n".join(text) + "\n")


def test_api_calls_per_charge_count_retries_and_read_backs(tmp_path):
    write_history(tmp_path)
    calls = calls_per_charge(tmp_path)
    assert calls["charge_keys"] == 2
    assert calls["charge_attempts_per_key"] == 1.5
    # Three attempts and two read-backs for two charges.
    assert calls["charge_key_calls"] == 2.5
    assert calls["all_calls"] == 2.5
