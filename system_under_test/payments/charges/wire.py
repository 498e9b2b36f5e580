"""Stripe wire format for charges: the charge object and the response a final charge gets."""

from collections.abc import Mapping
from typing import Any

from system_under_test.payments.charges.states import WIRE_STATUS, ChargeState

# Stripe's messages for the decline codes the network gives.
FAILURE_MESSAGES = {
    "generic_decline": "Your card was declined.",
    "insufficient_funds": "Your card has insufficient funds.",
    "processing_error": "An error occurred while processing your card. Try again in a little bit.",
}


def charge_object(charge: Mapping[str, Any]) -> dict[str, Any]:
    """The `charge` object for a row of the charges table."""
    state = ChargeState(charge["state"])
    succeeded = state is ChargeState.SUCCEEDED
    failure_code = charge["failure_code"]
    if succeeded:
        outcome = {"type": "authorized", "network_status": "approved_by_network"}
    elif state is ChargeState.FAILED:
        outcome = {"type": "issuer_declined", "network_status": "declined_by_network"}
    else:
        outcome = None
    return {
        "id": charge["id"],
        "object": "charge",
        "amount": charge["amount"],
        "amount_captured": charge["amount"] if succeeded else 0,
        "amount_refunded": 0,
        "captured": succeeded,
        "created": int(charge["created_at"].timestamp()),
        "currency": charge["currency"],
        "failure_code": failure_code,
        "failure_message": FAILURE_MESSAGES.get(failure_code) if failure_code else None,
        "livemode": False,
        "metadata": {},
        "outcome": outcome,
        "paid": succeeded,
        "payment_method_details": {"card": {"last4": charge["card_last4"]}, "type": "card"},
        "refunded": False,
        "status": WIRE_STATUS[state],
    }


def error_body(
    *, type_: str, message: str, code: str | None = None, **extra: Any
) -> dict[str, Any]:
    """A Stripe error object."""
    error: dict[str, Any] = {"type": type_, "message": message}
    if code is not None:
        error["code"] = code
    error.update(extra)
    return {"error": error}


def final_response(charge: Mapping[str, Any]) -> tuple[int, dict[str, Any]]:
    """The status code and body that a charge in a final state answers with (and is stored)."""
    state = ChargeState(charge["state"])
    if state is ChargeState.SUCCEEDED:
        return 200, charge_object(charge)
    assert state is ChargeState.FAILED, f"charge {charge['id']} is not final: {state}"
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
