import datetime

import pytest

from system_under_test.api.charge_request import (
    ChargeRequest,
    InvalidParameter,
    canonical_params,
    parse_charge_request,
)
from system_under_test.payments.charges.wire import final_response


def test_test_tokens_resolve_to_stripe_test_cards():
    parsed = parse_charge_request(
        {"amount": "100", "currency": "USD", "source": "tok_chargeDeclined"}
    )
    assert parsed == ChargeRequest(100, "usd", "4000000000000002")


@pytest.mark.parametrize(
    ("form", "param"),
    [
        ({"amount": "-5", "currency": "usd", "source": "tok_visa"}, "amount"),
        ({"amount": "0", "currency": "usd", "source": "tok_visa"}, "amount"),
        ({"amount": "12.5", "currency": "usd", "source": "tok_visa"}, "amount"),
        ({"amount": "100", "currency": "xyz", "source": "tok_visa"}, "currency"),
        ({"amount": "100", "currency": "usd", "source": "tok_nope"}, "source"),
        ({"amount": "100", "currency": "usd"}, "source"),
    ],
)
def test_bad_parameters_name_the_parameter(form, param):
    parsed = parse_charge_request(form)
    assert isinstance(parsed, InvalidParameter)
    assert parsed.param == param


def test_canonical_params_ignore_order():
    assert canonical_params({"b": "1", "a": "2"}) == canonical_params({"a": "2", "b": "1"})


def _charge(state, failure_code=None):
    return {
        "id": "ch_1",
        "amount": 500,
        "currency": "usd",
        "card_last4": "4242",
        "state": state,
        "failure_code": failure_code,
        "created_at": datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC),
    }


def test_final_response_of_succeeded_and_declined_charges():
    status, body = final_response(_charge("SUCCEEDED"))
    assert (status, body["status"], body["paid"]) == (200, "succeeded", True)
    status, body = final_response(_charge("FAILED", "insufficient_funds"))
    assert status == 402
    assert body["error"] == {
        "type": "card_error",
        "code": "card_declined",
        "decline_code": "insufficient_funds",
        "charge": "ch_1",
        "message": "Your card has insufficient funds.",
    }


def test_a_charge_still_processing_has_no_final_response():
    with pytest.raises(AssertionError, match="not final"):
        final_response(_charge("PROCESSING"))
