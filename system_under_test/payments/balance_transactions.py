"""Stripe's balance transactions: the ledger transactions that moved a merchant's available
balance, each seen from the merchant's side (its entry on their account)."""

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select

from system_under_test.payments import accounts as chart
from system_under_test.payments.ledger import POSTINGS
from system_under_test.payments.listing import Listing
from system_under_test.payments.wire import balance_transaction_id, unix_time
from system_under_test.schema import accounts, ledger_entries, ledger_transactions

# Every ledger posting that touches a merchant's available balance, and Stripe's type for it.
TYPES = {
    "charge_succeeded": "charge",
    "refund_reserved": "refund",
    "refund_failed": "refund_failure",
    "payout_reserved": "payout",
    "payout_failed": "payout_failure",
}


def listing(merchant_id: str) -> Listing:
    """The merchant's balance transactions, one row per ledger transaction."""
    query = (
        select(
            ledger_transactions.c.id,
            ledger_transactions.c.kind,
            ledger_transactions.c.object_id,
            ledger_transactions.c.created_at,
            ledger_entries.c.amount,
            accounts.c.currency,
        )
        .select_from(ledger_entries)
        .join(accounts, accounts.c.id == ledger_entries.c.account_id)
        .join(ledger_transactions, ledger_transactions.c.id == ledger_entries.c.transaction_id)
        .where(accounts.c.merchant_id == merchant_id, accounts.c.kind == chart.MERCHANT_AVAILABLE)
    )
    return Listing(query, ledger_transactions.c.created_at, ledger_transactions.c.id)


def balance_transaction_object(row: Mapping[str, Any]) -> dict[str, Any]:
    """The `balance_transaction` object of a row of `listing`."""
    created = unix_time(row["created_at"])
    kind = TYPES[row["kind"]]
    return {
        "id": balance_transaction_id(row["id"]),
        "object": "balance_transaction",
        "amount": row["amount"],
        "available_on": created,
        "created": created,
        "currency": row["currency"],
        "description": None,
        "exchange_rate": None,
        "fee": 0,
        "fee_details": [],
        "net": row["amount"],
        "reporting_category": kind,
        "source": row["object_id"],
        "status": "available",
        "type": kind,
    }


def _check_types_cover_the_merchant_postings() -> None:
    # A posting on a merchant's balance without a type here would crash its listing.
    touching = {posting for posting, sides in POSTINGS.items() if chart.MERCHANT_AVAILABLE in sides}
    assert touching == set(TYPES), (
        f"balance transaction types {sorted(TYPES)} != {sorted(touching)}"
    )


_check_types_cover_the_merchant_postings()
