import asyncio
import itertools
import random
from collections import Counter

from aiohttp import web
from aiohttp.test_utils import TestServer

from invariants.model.files import HISTORY_FILE
from invariants.model.history import encode_event, load_history, op_payment
from scenarios.event_log import EventLog, RunClock
from scenarios.scenario import RetryPolicy, Workload
from scenarios.workload.classify import classify_balance, classify_read, classify_write
from scenarios.workload.client import WorkloadClient
from scenarios.workload.plan import PlannedOp, plan_ops
from scenarios.workload.retry import PlannedWrite, ProcessNumbers


def test_succeeded_charge_is_ok():
    completion = classify_write(
        "charge", 200, {"id": "ch_1", "status": "succeeded", "amount": 5}, True
    )
    assert completion.type == "ok"
    assert completion.value == {
        "charge_id": "ch_1",
        "status": "succeeded",
        "amount": 5,
        "replayed": True,
    }


def test_decline_is_a_definite_failure():
    body = {
        "error": {
            "type": "card_error",
            "code": "card_declined",
            "decline_code": "insufficient_funds",
            "charge": "ch_9",
        }
    }
    completion = classify_write("charge", 402, body, False)
    assert (completion.type, completion.error) == ("fail", "insufficient_funds")
    assert completion.value["charge_id"] == "ch_9"


def test_server_errors_and_key_in_use_are_indeterminate():
    assert classify_write("charge", 502, {"error": {"type": "api_error"}}, False).type == "info"
    assert classify_write("refund", 500, "not json", False).type == "info"
    in_use = classify_write("payout", 409, {"error": {"code": "idempotency_key_in_use"}}, False)
    assert (in_use.type, in_use.error) == ("info", "idempotency_key_in_use")
    # A pending object's outcome is not known yet.
    assert classify_write("charge", 200, {"id": "ch_1", "status": "pending"}, False).type == "info"


def test_parameter_mismatch_and_balance_refusals_are_definite_failures():
    mismatch = classify_write("charge", 400, {"error": {"type": "idempotency_error"}}, False)
    assert (mismatch.type, mismatch.error) == ("fail", "idempotency_error")
    body = {"error": {"type": "invalid_request_error", "code": "balance_insufficient"}}
    refused = classify_write("payout", 400, body, False)
    assert (refused.type, refused.error) == ("fail", "balance_insufficient")
    assert refused.value == {"payout_id": None, "status": None, "http_status": 400}


def test_refund_ok_carries_its_charge_and_a_failed_payout_is_a_failure():
    refund = {"id": "re_1", "status": "succeeded", "amount": 40, "charge": "ch_1"}
    ok = classify_write("refund", 200, refund, False)
    assert ok.value == {
        "refund_id": "re_1",
        "status": "succeeded",
        "amount": 40,
        "charge_id": "ch_1",
        "replayed": False,
    }
    payout = {"id": "po_1", "status": "failed", "failure_code": "could_not_process"}
    failed = classify_write("payout", 200, payout, False)
    assert (failed.type, failed.error) == ("fail", "could_not_process")
    assert failed.value["payout_id"] == "po_1"


def test_reads_and_balances():
    read = classify_read(200, {"id": "re_1", "status": "succeeded", "amount": 3, "x": 1})
    assert read.value == {"id": "re_1", "status": "succeeded", "amount": 3}
    assert classify_read(404, {"error": {"code": "resource_missing"}}).type == "fail"
    assert classify_read(503, {}).type == "info"
    balance = {
        "available": [{"amount": 70, "currency": "usd"}],
        "pending": [{"amount": 0, "currency": "usd"}],
    }
    assert classify_balance(200, balance).value == {"available": {"usd": 70}, "pending": {"usd": 0}}


def _workload(**changes):
    base = {
        "clients": 3,
        "rate_per_s": 10.0,
        "duration_s": 2.0,
        "merchants": 2,
        "currency": "usd",
        "amount_min": 100,
        "amount_max": 900,
        "cards": {"4242424242424242": 0.9, "4000000000000002": 0.1},
        "request_timeout_s": 5.0,
        "retry": RetryPolicy(),
    }
    return Workload(**{**base, **changes})


def test_same_seed_same_plan_other_seed_other_plan():
    first = plan_ops(_workload(), scenario="s", seed=7)
    assert first == plan_ops(_workload(), scenario="s", seed=7)
    assert first != plan_ops(_workload(), scenario="s", seed=8)


def test_plan_meets_the_rate_and_keys_are_unique():
    plans = plan_ops(_workload(), scenario="s", seed=7)
    ops = [op for plan in plans for op in plan]
    assert len(ops) == 20  # 10 per second for 2 seconds
    assert len({op.key for op in ops}) == len(ops)
    assert all(100 <= op.amount <= 900 for op in ops)
    assert all(op.due_s < 2.0 for op in ops)


def test_the_mix_is_followed_and_refunds_name_an_earlier_approvable_charge_of_the_client():
    workload = _workload(
        rate_per_s=200.0,
        mix={"charge": 0.5, "refund": 0.2, "payout": 0.2, "balance": 0.1},
        full_refund_share=0.5,
    )
    plans = plan_ops(workload, scenario="s", seed=3)
    kinds = Counter(op.kind for plan in plans for op in plan)
    assert set(kinds) == {"charge", "refund", "payout", "balance"}
    assert kinds["charge"] > kinds["refund"] > kinds["balance"] > 0
    for plan in plans:
        earlier = {}
        for op in plan:
            if op.kind == "refund":
                charge = earlier[op.refund_of]
                assert charge.card == "4242424242424242"
                assert op.merchant_index == charge.merchant_index
                assert op.amount is None or 1 <= op.amount <= charge.amount
            earlier[op.key] = op
    refunds = [op for plan in plans for op in plan if op.kind == "refund"]
    assert any(op.amount is None for op in refunds)
    assert any(op.amount is not None for op in refunds)


# --- retry modes: the client against a payments API in miniature ----------------------------

PLANNED_KEY = "s-1-c1-0"
# Bound on one client run of a test; each takes well under a second.
RUN_S_MAX = 10.0


class HeldPayments:
    """Charges with idempotency, in miniature: the first request of a key is answered after
    `hold_s` (longer than the client's timeout, so the client gives up on it, yet the charge
    happens); a request of a key still in flight is answered 409 after `in_use_s`; a request
    of a key done gets the stored answer, replayed. Times are fixed on arrival, so a handler
    left by its client changes nothing."""

    def __init__(self, *, hold_s: float, in_use_s: float) -> None:
        self.hold_s = hold_s
        self.in_use_s = in_use_s
        # Idempotency key of each request, in arrival order.
        self.keys: list[str] = []
        self._charges: dict[str, tuple[float, dict]] = {}

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v1/charges", self._create)
        app.router.add_get("/v1/charges/{id}", self._read)
        return app

    async def _create(self, request: web.Request) -> web.Response:
        key = request.headers["Idempotency-Key"]
        self.keys.append(key)
        now = asyncio.get_running_loop().time()
        if key not in self._charges:
            amount = int((await request.post())["amount"])
            charge = {"id": f"ch_{len(self._charges)}", "status": "succeeded", "amount": amount}
            self._charges[key] = (now + self.hold_s, charge)
            await asyncio.sleep(self.hold_s)
            return web.json_response(charge)
        done_at, charge = self._charges[key]
        if now < done_at:
            await asyncio.sleep(self.in_use_s)
            error = {"type": "idempotency_error", "code": "idempotency_key_in_use"}
            return web.json_response({"error": error}, status=409)
        return web.json_response(charge, headers={"Idempotent-Replayed": "true"})

    async def _read(self, request: web.Request) -> web.Response:
        for _, charge in self._charges.values():
            if charge["id"] == request.match_info["id"]:
                return web.json_response(charge)
        return web.json_response({"error": {"code": "resource_missing"}}, status=404)


def _one_charge() -> list[PlannedOp]:
    op = PlannedOp(
        "charge",
        client=1,
        number=0,
        key=PLANNED_KEY,
        merchant_index=0,
        due_s=0.0,
        amount=500,
        card="4242424242424242",
    )
    return [op]


def _run_client(tmp_path, payments: HeldPayments, retry: RetryPolicy, **workload_changes):
    """Client 1 of 2 runs one planned charge against `payments`; returns the stored history."""

    async def scenario():
        async with TestServer(payments.app()) as server:
            clock = RunClock()
            history = EventLog(tmp_path / HISTORY_FILE, clock, encode_event)
            client = WorkloadClient(
                client=1,
                api_url=str(server.make_url("")).rstrip("/"),
                api_keys=["sk_test_1"],
                merchants=["acct_1"],
                workload=_workload(clients=2, retry=retry, **workload_changes),
                history=history,
                clock=clock,
                seed=1,
            )
            try:
                async with asyncio.timeout(RUN_S_MAX):
                    await client.run(_one_charge(), clock.now_s())
            finally:
                history.close()

    asyncio.run(scenario())
    return load_history(tmp_path / "history.jsonl")


def _assert_jepsen_numbering(ops, threads: int) -> None:
    """Each thread's ops run one after another under its process, which an info retires."""
    expected = {}
    for op in ops:
        thread = op.process % threads
        assert op.process == expected.get(thread, thread), (op, expected)
        expected[thread] = op.process + threads if op.type == "info" else op.process
    for thread_ops in _by_thread(ops, threads).values():
        for earlier, later in itertools.pairwise(thread_ops):
            assert earlier.completion_index is not None
            assert later.invoke_index > earlier.completion_index


def _by_thread(ops, threads: int) -> dict[int, list]:
    groups = {}
    for op in ops:
        groups.setdefault(op.process % threads, []).append(op)
    return groups


def test_storm_sends_concurrent_attempts_under_one_key_and_retries_until_an_answer(tmp_path):
    payments = HeldPayments(hold_s=0.4, in_use_s=0.05)
    retry = RetryPolicy(mode="storm", timeout_s=0.2, concurrency_multiple=3, attempts_max=40)

    ops = _run_client(tmp_path, payments, retry)

    writes = [op for op in ops if op.f == "charge"]
    # Client 1 of 2 with three lanes: threads 1, 3 and 5 of six, all sending at once.
    first_wave = writes[:3]
    assert {op.process for op in first_wave} == {1, 3, 5}
    assert max(op.invoke_index for op in first_wave) < min(
        op.completion_index for op in writes if op.completion_index is not None
    )
    assert {op.key for op in writes} == {PLANNED_KEY}
    assert set(payments.keys) == {PLANNED_KEY}
    assert [op.invoke_value["payment"] for op in writes] == [PLANNED_KEY] * len(writes)
    assert sorted(op.invoke_value["attempt"] for op in writes) == list(range(1, len(writes) + 1))
    assert len(writes) <= retry.attempts_max
    # The held attempt was given up on; the others met it in flight (409) and were sent again.
    assert "timeout" in {op.error for op in writes}
    assert "idempotency_key_in_use" in {op.error for op in writes}
    oks = [op for op in writes if op.type == "ok"]
    assert oks and all(op.completion_value["replayed"] for op in oks)
    # Settled at the first ok: no attempt starts after it.
    first_ok = min(oks, key=lambda op: op.completion_index)
    assert max(op.invoke_index for op in writes) < first_ok.completion_index
    # Read back once, by the process that got the first ok.
    reads = [op for op in ops if op.f == "read"]
    assert [(op.process, op.key, op.type) for op in reads] == [
        (first_ok.process, PLANNED_KEY, "ok")
    ]
    _assert_jepsen_numbering(ops, threads=6)


def test_storm_stops_at_attempts_max_over_all_its_lanes(tmp_path):
    payments = HeldPayments(hold_s=0.5, in_use_s=0.0)
    retry = RetryPolicy(mode="storm", timeout_s=0.2, concurrency_multiple=3, attempts_max=6)

    ops = _run_client(tmp_path, payments, retry)

    assert [op.invoke_value["attempt"] for op in ops] == list(range(1, 7))
    assert {op.type for op in ops} == {"info"}
    assert len(payments.keys) == 6
    _assert_jepsen_numbering(ops, threads=6)


def test_careless_client_sends_each_retry_under_a_new_key_of_one_payment(tmp_path):
    payments = HeldPayments(hold_s=0.4, in_use_s=0.05)
    retry = RetryPolicy(mode="careless", timeout_s=0.2, attempts_max=3)

    ops = _run_client(tmp_path, payments, retry)

    keys = [PLANNED_KEY, f"{PLANNED_KEY}-a2", f"{PLANNED_KEY}-a3"]
    assert [(op.process, op.key, op.type, op.error) for op in ops] == [
        (1, keys[0], "info", "timeout"),
        (3, keys[1], "info", "timeout"),
        (5, keys[2], "info", "timeout"),
    ]
    assert [op_payment(op) for op in ops] == [PLANNED_KEY] * 3
    assert payments.keys == keys


def test_backoff_mode_sends_one_attempt_at_a_time_under_one_key(tmp_path):
    payments = HeldPayments(hold_s=0.4, in_use_s=0.05)
    retry = RetryPolicy(attempts_max=20, backoff_s=0.01, backoff_max_s=0.05)

    ops = _run_client(tmp_path, payments, retry, request_timeout_s=0.2)

    writes = [op for op in ops if op.f == "charge"]
    assert [op.invoke_value["attempt"] for op in writes] == list(range(1, len(writes) + 1))
    assert {op.key for op in writes} == {PLANNED_KEY}
    assert [op.type for op in writes] == ["info"] * (len(writes) - 1) + ["ok"]
    assert writes[0].error == "timeout"
    assert writes[-1].completion_value["replayed"] is True
    # One thread (client 1 of 2, one lane): each retry by the next process of thread 1.
    assert [op.process for op in writes] == [1 + 2 * n for n in range(len(writes))]
    _assert_jepsen_numbering(ops, threads=2)


def test_a_storm_pauses_not_at_all_and_backoff_within_its_jittered_ceiling():
    jitter = random.Random(1)
    storm = PlannedWrite("k", RetryPolicy(mode="storm", concurrency_multiple=2))
    assert [storm.pause_s(attempt, jitter) for attempt in (1, 5)] == [0.0, 0.0]
    backoff = PlannedWrite("k", RetryPolicy(backoff_s=0.25, backoff_max_s=2.0))
    for attempt, ceiling in [(1, 0.25), (2, 0.5), (4, 2.0), (9, 2.0)]:
        assert ceiling / 2 <= backoff.pause_s(attempt, jitter) <= ceiling


def test_planned_write_settles_at_its_first_definite_answer():
    write = PlannedWrite("k", RetryPolicy(mode="storm", concurrency_multiple=2, attempts_max=5))
    assert [write.next_attempt().number for _ in range(2)] == [1, 2]
    assert write.settle("info") is False
    assert write.next_attempt().number == 3
    assert write.settle("fail") is True
    assert write.settle("ok") is False
    assert (write.finished, write.next_attempt()) == (True, None)


def test_process_numbers_are_unique_across_clients_lanes_and_retirements():
    clients, lanes = 3, 4
    numbers = [ProcessNumbers(client=c, clients=clients, lanes=lanes) for c in range(clients)]
    seen = set()
    for _ in range(5):
        for client_numbers in numbers:
            for lane in range(lanes):
                process = client_numbers.process(lane)
                assert process not in seen
                seen.add(process)
                client_numbers.retire(lane)
    assert seen == set(range(clients * lanes * 5))
