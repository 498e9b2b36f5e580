"""The merchant's balance for display (`GET /v1/balance`), read wherever the caller says: the
API reads it on the replica, which may lag; no decision is ever taken on it."""

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from system_under_test.payments import accounts as chart
from system_under_test.schema import accounts


async def balance_object(engine: AsyncEngine, merchant_id: str) -> dict[str, Any]:
    """Stripe's `balance` object: available per currency.

    Charges are available at once (no settlement delay is modelled), so `pending` is zero in
    every currency; money reserved by refunds and payouts in flight has left `available`.
    """
    async with engine.connect() as connection:
        rows = (
            await connection.execute(
                select(accounts.c.currency, accounts.c.balance)
                .where(
                    accounts.c.merchant_id == merchant_id,
                    accounts.c.kind == chart.MERCHANT_AVAILABLE,
                )
                .order_by(accounts.c.currency)
            )
        ).all()
    return {
        "object": "balance",
        "available": [
            {"amount": row.balance, "currency": row.currency, "source_types": {"card": row.balance}}
            for row in rows
        ],
        "pending": [
            {"amount": 0, "currency": row.currency, "source_types": {"card": 0}} for row in rows
        ],
        "livemode": False,
    }
