"""Double-entry ledger: append-only entries, every transaction sums to zero, balances updated in
the caller's transaction (the one that changes the movement's state).

Accounts are always locked in id order (a SELECT ... ORDER BY id FOR UPDATE), so concurrent
postings cannot deadlock. The chart of accounts is in `accounts`.
"""

from collections.abc import Mapping, Sequence

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from system_under_test.payments import accounts as chart
from system_under_test.schema import accounts, ledger_entries, ledger_transactions

# Each posting of a movement: (debited account kind, credited account kind).
POSTINGS: dict[str, tuple[str, str]] = {
    "charge_succeeded": (chart.NETWORK_RECEIVABLE, chart.MERCHANT_AVAILABLE),
    "refund_reserved": (chart.MERCHANT_AVAILABLE, chart.REFUND_CLEARING),
    "refund_succeeded": (chart.REFUND_CLEARING, chart.NETWORK_RECEIVABLE),
    "refund_failed": (chart.REFUND_CLEARING, chart.MERCHANT_AVAILABLE),
    "payout_reserved": (chart.MERCHANT_AVAILABLE, chart.PAYOUT_CLEARING),
    "payout_succeeded": (chart.PAYOUT_CLEARING, chart.PAYOUTS_SETTLED),
    "payout_failed": (chart.PAYOUT_CLEARING, chart.MERCHANT_AVAILABLE),
}

AccountKey = tuple[str | None, str, str]  # (merchant id or None for the platform, kind, currency)

# Account ids never change once seeded, so each process looks each one up once.
_account_ids: dict[AccountKey, int] = {}


def account_key(merchant_id: str, kind: str, currency: str) -> AccountKey:
    """The key of a merchant's account of `kind`, or of the platform's account of `kind`."""
    return (merchant_id if kind in chart.MERCHANT_ACCOUNT_KINDS else None, kind, currency)


async def account_id(connection: AsyncConnection, key: AccountKey) -> int:
    """The id of the account `key`; LookupError when it was never seeded."""
    found = _account_ids.get(key)
    if found is not None:
        return found
    merchant_id, kind, currency = key
    merchant_match = (
        accounts.c.merchant_id.is_(None)
        if merchant_id is None
        else accounts.c.merchant_id == merchant_id
    )
    found = await connection.scalar(
        select(accounts.c.id).where(
            merchant_match, accounts.c.kind == kind, accounts.c.currency == currency
        )
    )
    if found is None:
        raise LookupError(f"no ledger account {kind} in {currency} for {merchant_id or 'platform'}")
    _account_ids[key] = found
    return found


async def lock_balances(
    connection: AsyncConnection, account_ids: Sequence[int], *, for_update: bool = True
) -> dict[int, int]:
    """Read the balances of `account_ids`, locked in id order unless `for_update` is off."""
    statement = (
        select(accounts.c.id, accounts.c.balance)
        .where(accounts.c.id.in_(sorted(account_ids)))
        .order_by(accounts.c.id)
    )
    if for_update:
        statement = statement.with_for_update()
    rows = (await connection.execute(statement)).all()
    return {row.id: row.balance for row in rows}


async def transfer(
    connection: AsyncConnection,
    posting: str,
    *,
    object_id: str,
    merchant_id: str,
    currency: str,
    amount: int,
) -> int:
    """Post `amount` from the debited to the credited account of `posting`, for `object_id`;
    returns the ledger transaction's id.

    The database refuses a second posting of the same kind for the same object.
    """
    assert amount > 0, f"posting {posting} of {object_id}: amount {amount} is not positive"
    debited_kind, credited_kind = POSTINGS[posting]
    debited = await account_id(connection, account_key(merchant_id, debited_kind, currency))
    credited = await account_id(connection, account_key(merchant_id, credited_kind, currency))
    return await _post(connection, posting, object_id, {debited: -amount, credited: amount})


async def _post(
    connection: AsyncConnection, kind: str, object_id: str, deltas: Mapping[int, int]
) -> int:
    assert sum(deltas.values()) == 0, f"{kind} of {object_id} does not balance: {deltas}"
    await lock_balances(connection, list(deltas))
    transaction_id = await connection.scalar(
        ledger_transactions.insert()
        .values(kind=kind, object_id=object_id)
        .returning(ledger_transactions.c.id)
    )
    await connection.execute(
        ledger_entries.insert(),
        [
            {"transaction_id": transaction_id, "account_id": account, "amount": delta}
            for account, delta in deltas.items()
        ],
    )
    for account, delta in sorted(deltas.items()):
        await connection.execute(
            update(accounts)
            .where(accounts.c.id == account)
            .values(balance=accounts.c.balance + delta)
        )
    return transaction_id
