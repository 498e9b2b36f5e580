from scenarios.scenario import RetryPolicy, Workload
from scenarios.workload.client import classify
from scenarios.workload.plan import plan_charges


def test_succeeded_charge_is_ok():
    completion = classify(200, {"id": "ch_1", "status": "succeeded", "amount": 5}, True)
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
    completion = classify(402, body, False)
    assert (completion.type, completion.error) == ("fail", "insufficient_funds")
    assert completion.value["charge_id"] == "ch_9"


def test_server_errors_and_key_in_use_are_indeterminate():
    assert classify(502, {"error": {"type": "api_error"}}, False).type == "info"
    assert classify(500, "not json", False).type == "info"
    in_use = classify(409, {"error": {"code": "idempotency_key_in_use"}}, False)
    assert (in_use.type, in_use.error) == ("info", "idempotency_key_in_use")
    # A pending charge's outcome is not known yet.
    assert classify(200, {"id": "ch_1", "status": "pending"}, False).type == "info"


def test_parameter_mismatch_is_a_definite_failure():
    completion = classify(400, {"error": {"type": "idempotency_error"}}, False)
    assert (completion.type, completion.error) == ("fail", "idempotency_error")


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
    first = plan_charges(_workload(), scenario="s", seed=7)
    assert first == plan_charges(_workload(), scenario="s", seed=7)
    assert first != plan_charges(_workload(), scenario="s", seed=8)


def test_plan_meets_the_rate_and_keys_are_unique():
    plans = plan_charges(_workload(), scenario="s", seed=7)
    charges = [charge for plan in plans for charge in plan]
    assert len(charges) == 20  # 10 per second for 2 seconds
    assert len({charge.key for charge in charges}) == len(charges)
    assert all(100 <= charge.amount <= 900 for charge in charges)
    assert all(charge.due_s < 2.0 for charge in charges)
