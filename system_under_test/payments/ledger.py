"""Double-entry ledger: append-only entries, every transaction sums to zero, balances updated in
the caller's transaction (the one that changes the movement's state).

Accounts are always locked in id order (a SELECT ... ORDER BY id FOR UPDATE), so concurrent
postings cannot deadlock. The chart of accounts is in `accounts`.

A posting is written as common table expressions of the phase's one statement (`posting`),
so that the accounts, the hottest rows of the system, are locked only for the time that
statement takes to run and commit, not for round trips to the API.
"""

from collections.abc import Mapping

import asyncpg
from sqlalchemy import (
    CTE,
    BigInteger,
    ColumnElement,
    Text,
    any_,
    bindparam,
    exists,
    func,
    insert,
    literal,
    literal_column,
    select,
    true,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY

from system_under_test.payments import accounts as chart
from system_under_test.payments.sql import compiled
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

ACCOUNT_ID = """
SELECT id FROM accounts
WHERE merchant_id IS NOT DISTINCT FROM $1 AND kind = $2 AND currency = $3
"""
# A ledger transaction id drawn ahead of its posting, so that the answer can name it.
DRAWN_TRANSACTION_ID = func.nextval(
    literal_column("pg_get_serial_sequence('ledger_transactions', 'id')")
)
NEXT_TRANSACTION_ID = compiled(select(DRAWN_TRANSACTION_ID))


def account_key(merchant_id: str, kind: str, currency: str) -> AccountKey:
    """The key of a merchant's account of `kind`, or of the platform's account of `kind`."""
    return (merchant_id if kind in chart.MERCHANT_ACCOUNT_KINDS else None, kind, currency)


async def account_id(connection: asyncpg.Connection, key: AccountKey) -> int:
    """The id of the account `key`; LookupError when it was never seeded."""
    found = _account_ids.get(key)
    if found is not None:
        return found
    found = await connection.fetchval(ACCOUNT_ID, *key)
    if found is None:
        merchant_id, kind, currency = key
        raise LookupError(f"no ledger account {kind} in {currency} for {merchant_id or 'platform'}")
    _account_ids[key] = found
    return found


async def deltas(
    connection: asyncpg.Connection, posting: str, *, merchant_id: str, currency: str, amount: int
) -> dict[int, int]:
    """What `posting` of `amount` does to each account: account id -> signed amount."""
    assert amount > 0, f"posting {posting}: amount {amount} is not positive"
    debited_kind, credited_kind = POSTINGS[posting]
    debited = await account_id(connection, account_key(merchant_id, debited_kind, currency))
    credited = await account_id(connection, account_key(merchant_id, credited_kind, currency))
    return {debited: -amount, credited: amount}


async def next_transaction_id(connection: asyncpg.Connection) -> int:
    """A ledger transaction id drawn ahead of its posting (the posting's answer names it)."""
    return await NEXT_TRANSACTION_ID.fetchval(connection)


def posting(kind: str, condition: ColumnElement[bool], *, drawn_id: bool) -> list[CTE]:
    """CTEs that post a ledger transaction of `kind` for the parameter `object_id` when the
    SQL `condition` holds, moving `posting_amounts` on `posting_accounts` (parameters; see
    `posting_arguments`); with `drawn_id`, under the id `transaction_id`, drawn ahead.

    In order: `posted` (the transaction, RETURNING id), `relocked` (the accounts locked in id
    order; a no-op where the phase locked them already), `entries` (each with its account's
    balance after it) and `balanced` (the balances updated).
    """
    account_ids = bindparam("posting_accounts", type_=ARRAY(BigInteger))
    amounts = bindparam("posting_amounts", type_=ARRAY(BigInteger))
    drawn = [bindparam("transaction_id", type_=BigInteger)] if drawn_id else []
    posted = (
        insert(ledger_transactions)
        .from_select(
            ["id", "kind", "object_id"] if drawn_id else ["kind", "object_id"],
            select(*drawn, literal(kind, Text), bindparam("object_id", type_=Text)).where(
                condition
            ),
        )
        .returning(ledger_transactions.c.id)
        .cte("posted")
    )
    relocked = (
        select(accounts.c.id, accounts.c.balance)
        .where(accounts.c.id == any_(account_ids), exists(select(1).select_from(posted)))
        .order_by(accounts.c.id)
        .with_for_update()
        .cte("relocked")
    )
    deltas = func.unnest(account_ids, amounts).table_valued("account", "amount").render_derived("d")
    # The balance after each entry from the locked row (its newest version, held until
    # commit): the order the primary applied the account's entries in.
    entries = insert(ledger_entries).from_select(
        ["transaction_id", "account_id", "amount", "balance_after"],
        select(posted.c.id, deltas.c.account, deltas.c.amount, relocked.c.balance + deltas.c.amount)
        .select_from(posted)
        .join(deltas, true())
        .join(relocked, relocked.c.id == deltas.c.account),
    )
    balanced = (
        update(accounts)
        .where(accounts.c.id == relocked.c.id, deltas.c.account == relocked.c.id)
        .values(balance=accounts.c.balance + deltas.c.amount)
    )
    return [posted, relocked, entries.cte("entries"), balanced.cte("balanced")]


def posting_arguments(deltas: Mapping[int, int]) -> dict[str, list[int]]:
    """The parameters of `posting` that move `deltas` (account id -> signed amount)."""
    assert sum(deltas.values()) == 0, f"the posting does not balance: {deltas}"
    ordered = sorted(deltas.items())
    return {
        "posting_accounts": [account for account, _ in ordered],
        "posting_amounts": [delta for _, delta in ordered],
    }
