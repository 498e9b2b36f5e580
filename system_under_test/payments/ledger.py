"""Double-entry ledger: append-only entries, every transaction sums to zero."""

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from system_under_test.schema import (
    ACCOUNT_MERCHANT_AVAILABLE,
    ACCOUNT_NETWORK_RECEIVABLE,
    accounts,
    ledger_entries,
    ledger_transactions,
)


async def _account_ids(
    connection: AsyncConnection, merchant_id: str, currency: str
) -> tuple[int, int]:
    receivable = await connection.scalar(
        select(accounts.c.id).where(
            accounts.c.merchant_id.is_(None),
            accounts.c.kind == ACCOUNT_NETWORK_RECEIVABLE,
            accounts.c.currency == currency,
        )
    )
    available = await connection.scalar(
        select(accounts.c.id).where(
            accounts.c.merchant_id == merchant_id,
            accounts.c.kind == ACCOUNT_MERCHANT_AVAILABLE,
            accounts.c.currency == currency,
        )
    )
    if receivable is None or available is None:
        raise LookupError(f"no ledger accounts for merchant {merchant_id} in {currency}")
    return receivable, available


async def post_charge(
    connection: AsyncConnection, *, charge_id: str, merchant_id: str, amount: int, currency: str
) -> None:
    """Move a succeeded charge's amount from the network receivable to the merchant's balance.

    Runs inside the caller's transaction, the one that marks the charge SUCCEEDED.
    """
    receivable, available = await _account_ids(connection, merchant_id, currency)
    # Lock both accounts in id order so that concurrent postings cannot deadlock.
    locked = sorted((receivable, available))
    await connection.execute(
        select(accounts.c.id)
        .where(accounts.c.id.in_(locked))
        .order_by(accounts.c.id)
        .with_for_update()
    )
    transaction_id = await connection.scalar(
        ledger_transactions.insert()
        .values(kind="charge", charge_id=charge_id)
        .returning(ledger_transactions.c.id)
    )
    postings = [(receivable, -amount), (available, amount)]
    assert sum(delta for _, delta in postings) == 0
    await connection.execute(
        ledger_entries.insert(),
        [
            {"transaction_id": transaction_id, "account_id": account_id, "amount": delta}
            for account_id, delta in postings
        ],
    )
    for account_id, delta in postings:
        await connection.execute(
            update(accounts)
            .where(accounts.c.id == account_id)
            .values(balance=accounts.c.balance + delta)
        )
