"""Stripe wire format for charges: the charge object and the answer a final charge gives."""

from collections.abc import Mapping
from typing import Any

from system_under_test.payments.states import MovementState
from system_under_test.payments.wire import error_body, unix_time

WIRE_STATUS = {
    MovementState.PENDING: "pending",
    MovementState.PROCESSING: "pending",
    MovementState.SUCCEEDED: "succeeded",
    MovementState.FAILED: "failed",
}

# Stripe's messages for the decline codes the network gives.
FAILURE_MESSAGES = {
    "generic_decline": "Your card was declined.",
    "insufficient_funds": "Your card has insufficient funds.",
    "processing_error": "An error occurred while processing your card. Try again in a little bit.",
}


def charge_object(charge: Mapping[str, Any]) -> dict[str, Any]:
    """The `charge` object for a row of the charges table."""
    state = MovementState(charge["state"])
    succeeded = state is MovementState.SUCCEEDED
    failure_code = charge["failure_code"]
    if succeeded:
        outcome = {"type": "authorized", "network_status": "approved_by_network"}
    elif state is MovementState.FAILED:
        outcome = {"type": "issuer_declined", "network_status": "declined_by_network"}
    else:
        outcome = None
    return {
        "id": charge["id"],
        "object": "charge",
        "amount": charge["amount"],
        "amount_captured": charge["amount"] if succeeded else 0,
        "amount_refunded": charge["amount_refunded"],
        "captured": succeeded,
        "created": unix_time(charge["created_at"]),
        "currency": charge["currency"],
        "failure_code": failure_code,
        "failure_message": FAILURE_MESSAGES.get(failure_code) if failure_code else None,
        "livemode": False,
        "metadata": {},
        "outcome": outcome,
        "paid": succeeded,
        "payment_method_details": {"card": {"last4": charge["card_last4"]}, "type": "card"},
        "refunded": succeeded and charge["amount_refunded"] == charge["amount"],
        "status": WIRE_STATUS[state],
    }


def final_response(charge: Mapping[str, Any]) -> tuple[int, dict[str, Any]]:
    """The status code and body that a charge in a final state answers with (and is stored)."""
    state = MovementState(charge["state"])
    if state is MovementState.SUCCEEDED:
        return 200, charge_object(charge)
    assert state is MovementState.FAILED, f"charge {charge['id']} is not final: {state}"
    failure_code = charge["failure_code"] or "processing_error"
    if failure_code == "processing_error":
        code, decline_code = "processing_error", None
    else:
        code, decline_code = "card_declined", failure_code
    extra: dict[str, Any] = {"charge": charge["id"]}
    if decline_code is not None:
        extra["decline_code"] = decline_code
    return 402, error_body(
        type_="card_error", code=code, message=FAILURE_MESSAGES[failure_code], **extra
    )
