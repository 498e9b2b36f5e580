from collections import Counter

from scenarios.scenario import RetryPolicy, Workload
from scenarios.workload.classify import classify_balance, classify_read, classify_write
from scenarios.workload.plan import plan_ops


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
