"""Double-entry ledger: append-only entries, every transaction sums to zero, balances updated in
the caller's transaction (the one that changes the movement's state).

Accounts are always locked in id order (a SELECT ... ORDER BY id FOR UPDATE), so concurrent
postings cannot deadlock. The chart of accounts is in `accounts`.

A posting is written as common table expressions of the phase's one statement (`post_ctes`),
so that the accounts, the hottest rows of the system, are locked only for the time that
statement takes to run and commit, not for round trips to the API.
"""

from collections.abc import Mapping, Sequence

import asyncpg

from system_under_test.payments import accounts as chart
from system_under_test.payments.sql import Statement

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
NEXT_TRANSACTION_ID = "SELECT nextval(pg_get_serial_sequence('ledger_transactions', 'id'))"


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
    return await connection.fetchval(NEXT_TRANSACTION_ID)


def lock_sql(
    statement: Statement, account_ids: Sequence[int], *, gate: str | None, for_update: bool
) -> str:
    """SELECT id, balance of `account_ids`, locked in id order unless `for_update` is off,
    evaluated only once the CTE `gate` has a row (so that it locks after what `gate` locks)."""
    ids = statement.param(sorted(account_ids), "bigint[]")
    condition = f" AND EXISTS (SELECT 1 FROM {gate})" if gate else ""
    lock = " FOR UPDATE" if for_update else ""
    return f"SELECT id, balance FROM accounts WHERE id = ANY({ids}){condition} ORDER BY id{lock}"


def post_ctes(
    statement: Statement,
    *,
    kind: str,
    object_id: str,
    deltas: Mapping[int, int],
    condition: str,
    transaction_id: int | None,
) -> list[tuple[str, str]]:
    """Common table expressions that post `deltas` as one ledger transaction of `kind` when
    the SQL `condition` holds: `posted` (the transaction, RETURNING id), `relocked` (the
    accounts locked in id order; a no-op where the phase locked them already), `entries` (each
    with its account's balance after it) and `balanced` (the balances updated)."""
    assert sum(deltas.values()) == 0, f"{kind} of {object_id} does not balance: {deltas}"
    ordered = sorted(deltas.items())
    accounts = statement.param([account for account, _ in ordered], "bigint[]")
    amounts = statement.param([delta for _, delta in ordered], "bigint[]")
    if transaction_id is None:
        columns, chosen = "kind, object_id", ""
    else:
        columns = "id, kind, object_id"
        chosen = f"{statement.param(transaction_id, 'bigint')}, "
    return [
        (
            "posted",
            f"INSERT INTO ledger_transactions ({columns})"
            f" SELECT {chosen}{statement.param(kind, 'text')}, {statement.param(object_id, 'text')}"
            f" WHERE {condition} RETURNING id",
        ),
        (
            "relocked",
            f"SELECT id, balance FROM accounts WHERE id = ANY({accounts})"
            " AND EXISTS (SELECT 1 FROM posted) ORDER BY id FOR UPDATE",
        ),
        (
            # The balance after each entry from the locked row (its newest version, held until
            # commit): the order the primary applied the account's entries in.
            "entries",
            "INSERT INTO ledger_entries (transaction_id, account_id, amount, balance_after)"
            " SELECT posted.id, d.account, d.amount, relocked.balance + d.amount"
            f" FROM posted, unnest({accounts}, {amounts}) AS d(account, amount)"
            " JOIN relocked ON relocked.id = d.account",
        ),
        (
            "balanced",
            "UPDATE accounts SET balance = accounts.balance + d.amount"
            f" FROM relocked, unnest({accounts}, {amounts}) AS d(account, amount)"
            " WHERE accounts.id = relocked.id AND d.account = relocked.id",
        ),
    ]
