"""What every endpoint of the domain answers with: an `Answer` (its errors are payments/errors.py).

Answers are built here, not in the API, because a final one is stored with its idempotency key
and replayed byte for byte.
"""

import datetime
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from system_under_test.payments.states import MovementState

BALANCE_TRANSACTION_PREFIX = "txn_"


@dataclass(frozen=True)
class Answer:
    """An HTTP answer: status, JSON body and the Stripe headers it carries."""

    status: int
    body: Mapping[str, Any]
    replayed: bool = False
    # Stripe-Should-Retry: None leaves the header out.
    should_retry: bool | None = None
    headers: Mapping[str, str] = field(default_factory=dict)


def wire_statuses(succeeded: str) -> dict[MovementState, str]:
    """Stripe's `status` of an object by its state: pending until it is final, then
    `succeeded` (each object names its own success) or failed.

    >>> wire_statuses("paid")[MovementState.PROCESSING]
    'pending'
    """
    return {
        MovementState.PENDING: "pending",
        MovementState.PROCESSING: "pending",
        MovementState.SUCCEEDED: succeeded,
        MovementState.FAILED: "failed",
    }


def unix_time(moment: datetime.datetime) -> int:
    """Stripe's timestamps: whole seconds since the epoch."""
    return int(moment.timestamp())


def balance_transaction_id(transaction_id: int | None) -> str | None:
    """The wire id of a ledger transaction that is a merchant's balance transaction.

    >>> balance_transaction_id(42)
    'txn_42'
    """
    return None if transaction_id is None else f"{BALANCE_TRANSACTION_PREFIX}{transaction_id}"


def parse_balance_transaction_id(text: str) -> int | None:
    """The ledger transaction id in a wire id, or None when `text` is not one.

    >>> parse_balance_transaction_id("txn_42"), parse_balance_transaction_id("txn_x")
    (42, None)
    """
    digits = text.removeprefix(BALANCE_TRANSACTION_PREFIX)
    if digits == text or not (digits.isascii() and digits.isdigit()) or len(digits) > 18:
        return None
    return int(digits)


def list_object(url: str, data: list[dict[str, Any]], *, has_more: bool) -> dict[str, Any]:
    """Stripe's list object."""
    return {"object": "list", "data": data, "has_more": has_more, "url": url}
