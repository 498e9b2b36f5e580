"""Stripe wire format for payouts."""

from collections.abc import Mapping
from typing import Any

from system_under_test.payments.states import MovementState
from system_under_test.payments.wire import balance_transaction_id, unix_time, wire_statuses

WIRE_STATUS = wire_statuses("paid")
FAILURE_MESSAGES = {
    "could_not_process": "The bank could not process this payout.",
}


def payout_object(payout: Mapping[str, Any]) -> dict[str, Any]:
    """The `payout` object for a row of the payouts table."""
    failure_code = payout["failure_code"]
    created = unix_time(payout["created_at"])
    return {
        "id": payout["id"],
        "object": "payout",
        "amount": payout["amount"],
        "arrival_date": created,
        "automatic": False,
        "balance_transaction": balance_transaction_id(payout["balance_transaction_id"]),
        "created": created,
        "currency": payout["currency"],
        "description": payout["description"],
        "destination": None,
        "failure_balance_transaction": balance_transaction_id(
            payout["failure_balance_transaction_id"]
        ),
        "failure_code": failure_code,
        "failure_message": FAILURE_MESSAGES.get(failure_code) if failure_code else None,
        "livemode": False,
        "metadata": dict(payout["metadata"]),
        "method": "standard",
        "source_type": "card",
        "statement_descriptor": None,
        "status": WIRE_STATUS[MovementState(payout["state"])],
        "type": "bank_account",
    }


def final_response(payout: Mapping[str, Any]) -> tuple[int, dict[str, Any]]:
    """A final payout answers 200 with its object; `status` says whether it was paid."""
    state = MovementState(payout["state"])
    assert state in (MovementState.SUCCEEDED, MovementState.FAILED), f"{payout['id']}: {state}"
    return 200, payout_object(payout)
