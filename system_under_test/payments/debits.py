"""The strong read a debit (refund, payout) is decided on: the merchant's available balance on
the primary, its account and the clearing account locked in id order until the decision and
its reservation commit. Two defect switches weaken exactly this read."""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import asyncpg
from sqlalchemy.ext.asyncio import AsyncEngine

from system_under_test.defects import BALANCE_FROM_REPLICA, NO_ROW_LOCK
from system_under_test.payments import accounts as chart
from system_under_test.payments import ledger
from system_under_test.payments.connections import connected
from system_under_test.payments.errors import StripeError
from system_under_test.payments.flow import Flow, Refusal, Row
from system_under_test.payments.movement import (
    POSTING_ID_SQL,
    SqlValue,
    insert_processing_ctes,
    with_ctes,
)
from system_under_test.payments.sql import Statement

# More CTEs of the reserve's statement, run once the object is `created` (a refund's charge).
ExtraCtes = Callable[[Statement], list[tuple[str, str]]]
REPLICA_BALANCE = "SELECT balance FROM accounts WHERE id = $1"


@dataclass(frozen=True)
class Debit:
    """A refund or payout to decide: the merchant's money it would take, and where it goes."""

    merchant_id: str
    currency: str
    amount: int
    # The ledger posting that reserves it: from the merchant's available balance into a
    # clearing account until the network answers.
    reserve_posting: str
    defects: frozenset[str]
    replica: AsyncEngine | None


async def reserve(
    connection: asyncpg.Connection,
    flow: Flow,
    debit: Debit,
    *,
    object_id: str,
    values: Mapping[str, Any],
    extra: ExtraCtes | None = None,
) -> tuple[Row, int] | Refusal:
    """Decide the debit on the available balance; if it is covered, insert the object
    PROCESSING (with the balance it saw) and reserve the money, all in one statement of the
    caller's phase. Returns the object and the id its resolution will post under.

    The statement locks the merchant's account and the clearing account in id order, decides
    on the balance it locked, and posts only when it is covered: the accounts are held for the
    statement and the phase's commit, not for round trips.
    """
    available = await ledger.account_id(
        connection, ledger.account_key(debit.merchant_id, chart.MERCHANT_AVAILABLE, debit.currency)
    )
    _, clearing_kind = ledger.POSTINGS[debit.reserve_posting]
    clearing = await ledger.account_id(
        connection, ledger.account_key(debit.merchant_id, clearing_kind, debit.currency)
    )
    deltas = await ledger.deltas(
        connection,
        debit.reserve_posting,
        merchant_id=debit.merchant_id,
        currency=debit.currency,
        amount=debit.amount,
    )
    override = None
    if BALANCE_FROM_REPLICA in debit.defects:
        override = await _replica_balance(debit, available)
    statement = Statement()
    text = _reserve_sql(
        statement, flow, debit, object_id, values, [available, clearing], deltas, override, extra
    )
    row = dict(await connection.fetchrow(text, *statement.values))
    decided_on = row.pop("decided_on")
    posting_id = row.pop("posting_id")
    assert decided_on is not None, (
        f"merchant {debit.merchant_id} has no account in {debit.currency}"
    )
    if row["id"] is None:
        return balance_insufficient(decided_on, debit.amount)
    return row, posting_id


def _reserve_sql(
    statement: Statement,
    flow: Flow,
    debit: Debit,
    object_id: str,
    values: Mapping[str, Any],
    account_ids: list[int],
    deltas: dict[int, int],
    override: int | None,
    extra: ExtraCtes | None,
) -> str:
    available = account_ids[0]
    # The defect no-row-lock reads the rows without locking them, so two debits can both see
    # the balance before either is taken from it (the posting locks them only to update).
    locked = ledger.lock_sql(
        statement, account_ids, gate=None, for_update=NO_ROW_LOCK not in debit.defects
    )
    # The defect balance-from-replica decides on `override`, a display read on the replica.
    seen = (
        f"SELECT coalesce({statement.param(override, 'bigint')}, balance) AS balance"
        f" FROM locked WHERE id = {statement.param(available)}"
    )
    covered = f"EXISTS (SELECT 1 FROM seen WHERE seen.balance >= {statement.param(debit.amount)})"
    ctes = [("locked", locked), ("seen", seen)]
    ctes += ledger.post_ctes(
        statement,
        kind=debit.reserve_posting,
        object_id=object_id,
        deltas=deltas,
        condition=covered,
        transaction_id=None,
    )
    inserted = {
        **values,
        "id": object_id,
        "merchant_id": debit.merchant_id,
        "amount": debit.amount,
        "currency": debit.currency,
        "balance_seen": SqlValue("seen.balance"),
        "balance_transaction_id": SqlValue("posted.id"),
    }
    ctes += insert_processing_ctes(statement, flow, inserted, actor="api", source="seen, posted")
    if extra is not None:
        ctes += extra(statement)
    return with_ctes(
        ctes,
        f"SELECT (SELECT balance FROM seen) AS decided_on, created.*, {POSTING_ID_SQL}"
        " FROM (SELECT 1) AS one LEFT JOIN created ON true",
    )


async def _replica_balance(debit: Debit, account_id: int) -> int:
    # The defect: the balance decided on is a display read on the replica, which may be
    # behind the primary.
    assert debit.replica is not None, "the configuration refuses this defect without a replica"
    async with connected(debit.replica) as replica_connection:
        seen = await replica_connection.fetchval(REPLICA_BALANCE, account_id)
    # A replica that has not even replayed the account's creation shows nothing.
    return seen or 0


def balance_insufficient(available: int, wanted: int) -> Refusal:
    """The refusal of a debit that the merchant's available balance does not cover."""
    return Refusal(StripeError.BALANCE_INSUFFICIENT.answer(available=available, wanted=wanted))
