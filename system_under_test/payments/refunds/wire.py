"""Stripe wire format for refunds."""

from collections.abc import Mapping
from typing import Any

from system_under_test.payments.states import MovementState
from system_under_test.payments.wire import unix_time

WIRE_STATUS = {
    MovementState.PENDING: "pending",
    MovementState.PROCESSING: "pending",
    MovementState.SUCCEEDED: "succeeded",
    MovementState.FAILED: "failed",
}


def refund_object(refund: Mapping[str, Any]) -> dict[str, Any]:
    """The `refund` object for a row of the refunds table."""
    return {
        "id": refund["id"],
        "object": "refund",
        "amount": refund["amount"],
        "balance_transaction": None,
        "charge": refund["charge_id"],
        "created": unix_time(refund["created_at"]),
        "currency": refund["currency"],
        "failure_reason": refund["failure_code"],
        "metadata": {},
        "payment_intent": None,
        "reason": None,
        "status": WIRE_STATUS[MovementState(refund["state"])],
    }


def final_response(refund: Mapping[str, Any]) -> tuple[int, dict[str, Any]]:
    """A final refund answers 200 with its object; `status` says whether it succeeded."""
    state = MovementState(refund["state"])
    assert state in (MovementState.SUCCEEDED, MovementState.FAILED), f"{refund['id']}: {state}"
    return 200, refund_object(refund)
