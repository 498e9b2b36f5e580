import datetime

import pytest

from system_under_test.payments.idempotency import (
    RECOVERY_POINTS,
    Fingerprint,
    InUse,
    ParametersMismatch,
    Proceed,
    Replay,
    StoredKey,
    decide_claim,
)

NOW = datetime.datetime(2026, 12, 1, 12, 0, tzinfo=datetime.UTC)
TTL = datetime.timedelta(seconds=15)
REQUEST = Fingerprint("POST", "/v1/payouts", {"amount": "500", "currency": "usd"})


def _stored(**changes):
    fields = {
        "id": 7,
        "fingerprint": REQUEST,
        "recovery_point": "started",
        "lock_version": 3,
        "locked_at": NOW - datetime.timedelta(seconds=1),
        "object_id": None,
        "response_code": None,
        "response_body": None,
    }
    return StoredKey(**{**fields, **changes})


def _decide(stored, request=REQUEST, now=NOW):
    return decide_claim(stored, request, kind="payout", now=now, lock_ttl=TTL)


def test_other_parameters_or_endpoint_are_a_mismatch_even_when_finished():
    finished = _stored(recovery_point="finished", response_code=200, response_body={"id": "po"})
    other_amount = Fingerprint("POST", "/v1/payouts", {"amount": "501", "currency": "usd"})
    other_path = Fingerprint("POST", "/v1/charges", dict(REQUEST.params))
    assert _decide(finished, other_amount) == ParametersMismatch()
    assert _decide(finished, other_path) == ParametersMismatch()


def test_a_stored_response_is_replayed_even_while_locked():
    stored = _stored(recovery_point="finished", response_code=402, response_body={"error": {}})
    assert _decide(stored) == Replay(402, {"error": {}})


def test_a_fresh_lock_means_in_use():
    assert _decide(_stored()) == InUse()


def test_a_stale_lock_is_taken_over_with_the_next_version():
    stale = _stored(
        recovery_point="payout_processing",
        object_id="po_1",
        locked_at=NOW - TTL - datetime.timedelta(milliseconds=1),
    )
    assert _decide(stale) == Proceed(7, "payout_processing", 4, "po_1", took_over=True)


def test_an_unlocked_key_proceeds_from_its_point_without_a_takeover():
    unlocked = _stored(locked_at=None)
    assert _decide(unlocked) == Proceed(7, "started", 4, None, took_over=False)


def test_an_unknown_recovery_point_is_a_bug_not_a_decision():
    with pytest.raises(AssertionError, match="unknown recovery point 'charge_processing'"):
        _decide(_stored(recovery_point="charge_processing", locked_at=None))


def test_every_kind_runs_started_then_processing_then_finished():
    for kind, points in RECOVERY_POINTS.items():
        assert points == ("started", f"{kind}_processing", "finished")
