"""Stripe wire format for refunds."""

from collections.abc import Mapping
from typing import Any

from system_under_test.payments.states import MovementState
from system_under_test.payments.wire import balance_transaction_id, unix_time, wire_statuses

WIRE_STATUS = wire_statuses("succeeded")


def refund_object(refund: Mapping[str, Any]) -> dict[str, Any]:
    """The `refund` object for a row of the refunds table."""
    return {
        "id": refund["id"],
        "object": "refund",
        "amount": refund["amount"],
        "balance_transaction": balance_transaction_id(refund["balance_transaction_id"]),
        "charge": refund["charge_id"],
        "created": unix_time(refund["created_at"]),
        "currency": refund["currency"],
        "description": refund["description"],
        "destination_details": None,
        "failure_balance_transaction": balance_transaction_id(
            refund["failure_balance_transaction_id"]
        ),
        "failure_reason": refund["failure_code"],
        "instructions_email": None,
        "metadata": dict(refund["metadata"]),
        "next_action": None,
        "payment_intent": None,
        "reason": None,
        "receipt_number": None,
        "source_transfer_reversal": None,
        "status": WIRE_STATUS[MovementState(refund["state"])],
        "transfer_reversal": None,
    }


def final_response(refund: Mapping[str, Any]) -> tuple[int, dict[str, Any]]:
    """A final refund answers 200 with its object; `status` says whether it succeeded."""
    state = MovementState(refund["state"])
    assert state in (MovementState.SUCCEEDED, MovementState.FAILED), f"{refund['id']}: {state}"
    return 200, refund_object(refund)
