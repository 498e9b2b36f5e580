import datetime

import pytest

from system_under_test.api.form import InvalidParameter, canonical_params
from system_under_test.api.params import (
    parse_charge,
    parse_list,
    parse_payout,
    parse_refund,
)
from system_under_test.payments.charges.wire import final_response
from system_under_test.payments.requests import ChargeRequest, PayoutRequest, RefundRequest

CHARGE = {"amount": "100", "currency": "usd", "source": "tok_visa"}


def test_test_tokens_resolve_to_stripe_test_cards():
    parsed = parse_charge({"amount": "100", "currency": "USD", "source": "tok_chargeDeclined"})
    assert parsed == ChargeRequest(100, "usd", "4000000000000002")


@pytest.mark.parametrize(
    ("changes", "param", "code"),
    [
        ({"amount": "-5"}, "amount", "parameter_invalid_integer"),
        ({"amount": "0"}, "amount", "amount_too_small"),
        ({"amount": "12.5"}, "amount", "parameter_invalid_integer"),
        # Fullwidth and Arabic-Indic digits pass str.isdigit(); Stripe takes ASCII only.
        ({"amount": "\uff11\uff10\uff10"}, "amount", "parameter_invalid_integer"),
        ({"amount": "\u0661\u0660\u0660"}, "amount", "parameter_invalid_integer"),
        ({"amount": "9" * 5000}, "amount", "amount_too_large"),
        ({"amount": "100000000"}, "amount", "amount_too_large"),
        ({"currency": "xyz"}, "currency", "parameter_invalid"),
        ({"source": "tok_nope"}, "source", "parameter_invalid"),
        ({"source": "\uff14\uff12" * 8}, "source", "parameter_invalid"),
        ({"foo": "1"}, "foo", "parameter_unknown"),
        # Stripe has these; this system does not implement them, and says so.
        ({"customer": "cus_1"}, "customer", None),
        ({"capture": "false"}, "capture", None),
        ({"capture": "maybe"}, "capture", "parameter_invalid"),
        ({"metadata[" + "k" * 41 + "]": "v"}, "metadata[" + "k" * 41 + "]", "parameter_invalid"),
        ({"metadata[k]": "v" * 501}, "metadata[k]", "parameter_invalid"),
        ({"metadata[a][b]": "v"}, "metadata[a][b]", "parameter_invalid"),
        ({"description": "d" * 1001}, "description", "parameter_invalid"),
        ({"amount": "49"}, "amount", "amount_too_small"),
    ],
)
def test_bad_charge_parameters_are_named(changes, param, code):
    parsed = parse_charge({**CHARGE, **changes})
    assert isinstance(parsed, InvalidParameter)
    assert (parsed.param, parsed.code) == (param, code)


def test_missing_amount_is_named():
    parsed = parse_charge({"currency": "usd", "source": "tok_visa"})
    assert isinstance(parsed, InvalidParameter)
    assert (parsed.param, parsed.code) == ("amount", "parameter_missing")


def test_leading_zeros_do_not_make_an_amount_too_large():
    assert parse_charge({**CHARGE, "amount": "000000000500"}).amount == 500


def test_refund_amount_is_optional_and_checked():
    assert parse_refund({"charge": "ch_1"}) == RefundRequest("ch_1", None)
    assert parse_refund({"charge": "ch_1", "amount": "25"}) == RefundRequest("ch_1", 25)
    missing = parse_refund({"amount": "25"})
    assert isinstance(missing, InvalidParameter) and missing.param == "charge"
    zero = parse_refund({"charge": "ch_1", "amount": "0"})
    assert isinstance(zero, InvalidParameter) and zero.code == "amount_too_small"
    unknown = parse_refund({"charge": "ch_1", "reason": "fraudulent"})
    assert isinstance(unknown, InvalidParameter) and unknown.param == "reason"


def test_payout_needs_amount_and_currency():
    assert parse_payout({"amount": "7", "currency": "GBP"}) == PayoutRequest(7, "gbp")
    negative = parse_payout({"amount": "-7", "currency": "usd"})
    assert isinstance(negative, InvalidParameter) and negative.param == "amount"
    no_currency = parse_payout({"amount": "7"})
    assert isinstance(no_currency, InvalidParameter) and no_currency.param == "currency"


def test_canonical_params_ignore_order():
    assert canonical_params({"b": "1", "a": "2"}) == canonical_params({"a": "2", "b": "1"})


def _charge(state, failure_code=None, decline_code=None):
    return {
        "id": "ch_1",
        "amount": 500,
        "amount_refunded": 0,
        "currency": "usd",
        "card_last4": "4242",
        "state": state,
        "failure_code": failure_code,
        "decline_code": decline_code,
        "balance_transaction_id": 7 if state == "SUCCEEDED" else None,
        "description": None,
        "metadata": {},
        "created_at": datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC),
    }


def test_final_response_of_succeeded_and_declined_charges():
    status, body = final_response(_charge("SUCCEEDED"))
    assert (status, body["status"], body["paid"]) == (200, "succeeded", True)
    assert body["balance_transaction"] == "txn_7"
    assert body["refunds"] == {
        "object": "list",
        "data": [],
        "has_more": False,
        "url": "/v1/charges/ch_1/refunds",
    }
    status, body = final_response(_charge("FAILED", "card_declined", "insufficient_funds"))
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


def test_metadata_and_description_are_kept():
    parsed = parse_charge({**CHARGE, "metadata[order]": "6735", "description": "Tea"})
    assert (parsed.metadata, parsed.description) == ({"order": "6735"}, "Tea")
    too_many = {f"metadata[k{number}]": "v" for number in range(51)}
    problem = parse_payout({"amount": "5", "currency": "usd", **too_many})
    assert isinstance(problem, InvalidParameter) and problem.param == "metadata"


def test_a_card_number_failing_luhn_is_a_card_error():
    parsed = parse_charge({**CHARGE, "source": "4242424242424241"})
    assert isinstance(parsed, InvalidParameter)
    answer = parsed.answer()
    assert answer.status == 402
    assert answer.body["error"] == {
        "type": "card_error",
        "message": "Your card number is incorrect.",
        "code": "incorrect_number",
        "param": "source",
    }


def test_lists_take_one_cursor_and_a_bounded_limit():
    assert parse_list({}).limit == 10
    both = parse_list({"starting_after": "ch_1", "ending_before": "ch_2"})
    assert isinstance(both, InvalidParameter) and both.param == "ending_before"
    for limit in ("0", "101", "-1", "\uff11", "1.5"):
        bad = parse_list({"limit": limit})
        assert isinstance(bad, InvalidParameter) and bad.param == "limit", limit
    unknown = parse_list({"colour": "red"})
    assert isinstance(unknown, InvalidParameter) and unknown.code == "parameter_unknown"


@pytest.mark.parametrize(
    "cards",
    [
        {"source": "tok_visa", "card[number]": "abc"},
        {"source": "", "card[number]": "4242424242424242"},
        {"card[number]": "4242424242424242", "source": "4242"},
    ],
)
def test_every_card_parameter_given_must_be_a_card(cards):
    refused = parse_charge({"amount": "500", "currency": "usd", **cards})
    assert isinstance(refused, InvalidParameter)
    assert refused.code == "parameter_invalid"


def test_a_number_that_is_no_card_is_named_before_a_luhn_failure():
    refused = parse_charge(
        {"amount": "500", "currency": "usd", "source": "4242424242424241", "card[number]": "x"}
    )
    assert isinstance(refused, InvalidParameter)
    assert refused.code == "parameter_invalid"
