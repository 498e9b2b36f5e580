"""Stripe wire format for charges: the charge object and the answer a final charge gives.

`failure_code` is Stripe's error code (card_declined, processing_error); the network's
reason for a decline is `outcome.reason` (and the error's `decline_code`).
"""

from collections.abc import Mapping, Sequence
from typing import Any

from system_under_test.payments.errors import StripeError
from system_under_test.payments.refunds.wire import refund_object
from system_under_test.payments.states import MovementState
from system_under_test.payments.wire import (
    balance_transaction_id,
    list_object,
    unix_time,
    wire_statuses,
)

CARD_DECLINED = "card_declined"
PROCESSING_ERROR = "processing_error"
INCORRECT_NUMBER = "incorrect_number"

WIRE_STATUS = wire_statuses("succeeded")

# Stripe's messages, by decline reason first, then by error code.
FAILURE_MESSAGES = {
    "generic_decline": "Your card was declined.",
    "insufficient_funds": "Your card has insufficient funds.",
    CARD_DECLINED: "Your card was declined.",
    PROCESSING_ERROR: "An error occurred while processing your card. Try again in a little bit.",
    INCORRECT_NUMBER: "Your card number is incorrect.",
}
SELLER_MESSAGES = {
    "authorized": "Payment complete.",
    "issuer_declined": "The bank did not return any further details with this decline.",
    "invalid": "The payment could not be sent to the card network.",
}
# How many of a charge's refunds it embeds, as Stripe's list objects do by default.
EMBEDDED_REFUNDS_MAX = 10


def failure_message(failure_code: str | None, decline_code: str | None) -> str | None:
    """Stripe's message for a failed charge."""
    if failure_code is None:
        return None
    return FAILURE_MESSAGES.get(decline_code or "") or FAILURE_MESSAGES.get(failure_code)


def _outcome(charge: Mapping[str, Any]) -> dict[str, Any] | None:
    state = MovementState(charge["state"])
    if state is MovementState.SUCCEEDED:
        kind, network_status = "authorized", "approved_by_network"
    elif state is not MovementState.FAILED:
        return None
    elif charge["decline_code"] is not None:
        kind, network_status = "issuer_declined", "declined_by_network"
    else:
        # Expired at the network or never received by it: no decision of the issuer.
        kind, network_status = "invalid", "not_sent_to_network"
    return {
        "network_status": network_status,
        "reason": charge["decline_code"],
        "risk_level": "normal",
        "risk_score": None,
        "seller_message": SELLER_MESSAGES[kind],
        "type": kind,
    }


def charge_object(
    charge: Mapping[str, Any], refunds: Sequence[Mapping[str, Any]] = (), *, more_refunds=False
) -> dict[str, Any]:
    """The `charge` object for a row of the charges table, with (some of) its refunds."""
    state = MovementState(charge["state"])
    succeeded = state is MovementState.SUCCEEDED
    return {
        "id": charge["id"],
        "object": "charge",
        "amount": charge["amount"],
        "amount_captured": charge["amount"] if succeeded else 0,
        "amount_refunded": charge["amount_refunded"],
        "application": None,
        "application_fee": None,
        "application_fee_amount": None,
        "balance_transaction": balance_transaction_id(charge["balance_transaction_id"]),
        "billing_details": {"address": None, "email": None, "name": None, "phone": None},
        "calculated_statement_descriptor": None,
        "captured": succeeded,
        "created": unix_time(charge["created_at"]),
        "currency": charge["currency"],
        "customer": None,
        "description": charge["description"],
        "disputed": False,
        "failure_balance_transaction": None,
        "failure_code": charge["failure_code"],
        "failure_message": failure_message(charge["failure_code"], charge["decline_code"]),
        "fraud_details": {},
        "invoice": None,
        "livemode": False,
        "metadata": dict(charge["metadata"]),
        "on_behalf_of": None,
        "outcome": _outcome(charge),
        "paid": succeeded,
        "payment_intent": None,
        "payment_method": None,
        "payment_method_details": {
            "card": {"last4": charge["card_last4"], "network": "visa"},
            "type": "card",
        },
        "receipt_email": None,
        "receipt_number": None,
        "receipt_url": None,
        "refunded": succeeded and charge["amount_refunded"] == charge["amount"],
        "refunds": list_object(
            f"/v1/charges/{charge['id']}/refunds",
            [refund_object(refund) for refund in refunds],
            has_more=more_refunds,
        ),
        "review": None,
        "shipping": None,
        "source": None,
        "source_transfer": None,
        "statement_descriptor": None,
        "statement_descriptor_suffix": None,
        "status": WIRE_STATUS[state],
        "transfer_data": None,
        "transfer_group": None,
    }


def final_response(charge: Mapping[str, Any]) -> tuple[int, dict[str, Any]]:
    """The status code and body that a charge in a final state answers with (and is stored)."""
    state = MovementState(charge["state"])
    if state is MovementState.SUCCEEDED:
        return 200, charge_object(charge)
    assert state is MovementState.FAILED, f"charge {charge['id']} is not final: {state}"
    failure_code = charge["failure_code"] or PROCESSING_ERROR
    extra: dict[str, Any] = {"charge": charge["id"]}
    if failure_code == CARD_DECLINED and charge["decline_code"] is not None:
        extra["decline_code"] = charge["decline_code"]
    failed = StripeError.CHARGE_FAILED
    message = failure_message(failure_code, charge["decline_code"])
    assert message is not None, f"charge {charge['id']}: no message for {failure_code}"
    return failed.status, failed.body(code=failure_code, extra=extra, failure_message=message)
