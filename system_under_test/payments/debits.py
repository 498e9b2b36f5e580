"""The strong read a debit (refund, payout) is decided on: the merchant's available balance on
the primary, its account and the clearing account locked in id order until the decision and
its reservation commit. Two defect switches weaken exactly this read."""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
from sqlalchemy import (
    CTE,
    BigInteger,
    any_,
    bindparam,
    exists,
    func,
    literal,
    select,
    true,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncEngine

from system_under_test.defects import BALANCE_FROM_REPLICA, NO_ROW_LOCK
from system_under_test.payments import accounts as chart
from system_under_test.payments import ledger
from system_under_test.payments.connections import connected
from system_under_test.payments.errors import StripeError
from system_under_test.payments.flow import Flow, NewMovement, Refusal, Row
from system_under_test.payments.processing import (
    NEW_COLUMNS,
    column_parameters,
    inserted_processing,
    new_values,
)
from system_under_test.payments.sql import Named, compiled
from system_under_test.schema import accounts

# More CTEs of a flow's reserve statement, given its `created` (a refund's charge).
ExtraCtes = Callable[[CTE], list[CTE]]
REPLICA_BALANCE = "SELECT balance FROM accounts WHERE id = $1"
# The columns of every debit, each a parameter of its own name; a flow adds its own.
DEBIT_COLUMNS = (*NEW_COLUMNS, "amount", "currency")


@dataclass(frozen=True)
class Reservation:
    """How a flow reserves a debit (refund, payout): its ledger posting, from the merchant's
    available balance into a clearing account until the network answers, and its reserve
    statement by whether it locks the accounts."""

    posting: str
    statements: Mapping[bool, Named]


def reservation(
    flow: Flow, posting: str, columns: Sequence[str], *, extra: ExtraCtes | None = None
) -> Reservation:
    """The reservation of `flow`, whose objects have `columns` besides DEBIT_COLUMNS; with
    `extra`, more CTEs of its statement."""
    statements = {
        row_lock: _reserving(flow, posting, columns, row_lock=row_lock, extra=extra)
        for row_lock in (True, False)
    }
    return Reservation(posting, statements)


def _reserving(
    flow: Flow,
    posting: str,
    columns: Sequence[str],
    *,
    row_lock: bool,
    extra: ExtraCtes | None = None,
) -> Named:
    """A flow's reserve statement: the merchant's available account and the clearing account
    (`account_ids`) locked in id order, the balance seen (of `available_id`, or `override`),
    and, only when it covers `amount`, the reservation posted (`posting`) and the object
    inserted PROCESSING from DEBIT_COLUMNS and `columns`, with the balance it saw.

    The defect no-row-lock is `row_lock` off: the accounts are read without a lock, so two
    debits can both see the balance before either is taken from it (the posting locks them
    only to update). The defect balance-from-replica gives `override`, read on the replica.
    """
    locked = (
        select(accounts.c.id, accounts.c.balance)
        .where(accounts.c.id == any_(bindparam("account_ids", type_=ARRAY(BigInteger))))
        .order_by(accounts.c.id)
    )
    if row_lock:
        locked = locked.with_for_update()
    locked_cte = locked.cte("locked")
    override = bindparam("override", type_=BigInteger)
    seen = (
        select(func.coalesce(override, locked_cte.c.balance).label("balance"))
        .where(locked_cte.c.id == bindparam("available_id", type_=BigInteger))
        .cte("seen")
    )
    amount = bindparam("amount", type_=BigInteger)
    covered = exists(select(1).select_from(seen).where(seen.c.balance >= amount))
    posted, *posting_ctes = ledger.posting(posting, covered, drawn_id=False)
    values = column_parameters(flow.table, [*DEBIT_COLUMNS, *columns])
    values |= {"balance_seen": seen.c.balance, "balance_transaction_id": posted.c.id}
    created, stepped = inserted_processing(flow.name, flow.table, values, sources=[seen, posted])
    one = select(literal(1)).subquery("one")
    final = select(
        select(seen.c.balance).scalar_subquery().label("decided_on"),
        created,
        ledger.DRAWN_TRANSACTION_ID.label("posting_id"),
    ).select_from(one.outerjoin(created, true()))
    return compiled(final.add_cte(*posting_ctes, stepped, *(extra(created) if extra else [])))


async def reserve(
    connection: asyncpg.Connection,
    reservation: Reservation,
    new: NewMovement,
    currency: str,
    amount: int,
    *,
    metadata: Mapping[str, str],
    values: Mapping[str, Any],
) -> tuple[Row, int] | Refusal:
    """Decide a debit of `amount` on the available balance; if it is covered, insert the
    object PROCESSING (with the balance it saw, and the flow's own `values`) and reserve the
    money, all in one statement of the caller's phase. Returns the object and the id its
    resolution will post under.

    The statement locks the merchant's account and the clearing account in id order, decides
    on the balance it locked, and posts only when it is covered: the accounts are held for the
    statement and the phase's commit, not for round trips.
    """
    merchant_id = new.merchant_id
    available = await ledger.account_id(
        connection, ledger.account_key(merchant_id, chart.MERCHANT_AVAILABLE, currency)
    )
    _, clearing_kind = ledger.POSTINGS[reservation.posting]
    clearing = await ledger.account_id(
        connection, ledger.account_key(merchant_id, clearing_kind, currency)
    )
    deltas = await ledger.deltas(
        connection, reservation.posting, merchant_id=merchant_id, currency=currency, amount=amount
    )
    override = None
    if BALANCE_FROM_REPLICA in new.defects:
        override = await _replica_balance(new.replica, available)
    statement = reservation.statements[NO_ROW_LOCK not in new.defects]
    found = await statement.fetchrow(
        connection,
        **new_values(new, metadata),
        **values,
        **ledger.posting_arguments(deltas),
        object_id=new.object_id,
        amount=amount,
        currency=currency,
        account_ids=sorted([available, clearing]),
        available_id=available,
        override=override,
    )
    row = dict(found)
    decided_on = row.pop("decided_on")
    posting_id = row.pop("posting_id")
    assert decided_on is not None, f"merchant {merchant_id} has no account in {currency}"
    if row["id"] is None:
        return balance_insufficient(decided_on, amount)
    return row, posting_id


async def _replica_balance(replica: AsyncEngine | None, account_id: int) -> int:
    # The defect: the balance decided on is a display read on the replica, which may be
    # behind the primary.
    assert replica is not None, "the configuration refuses this defect without a replica"
    async with connected(replica) as replica_connection:
        seen = await replica_connection.fetchval(REPLICA_BALANCE, account_id)
    # A replica that has not even replayed the account's creation shows nothing.
    return seen or 0


def balance_insufficient(available: int, wanted: int) -> Refusal:
    """The refusal of a debit that the merchant's available balance does not cover."""
    return Refusal(StripeError.BALANCE_INSUFFICIENT.answer(available=available, wanted=wanted))
