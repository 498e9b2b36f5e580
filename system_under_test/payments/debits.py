"""The strong read a debit (refund, payout) is decided on: the merchant's available balance on
the primary, its account and the clearing account locked in id order until the decision and
its reservation commit. Two defect switches weaken exactly this read."""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from system_under_test.defects import BALANCE_FROM_REPLICA, NO_ROW_LOCK
from system_under_test.payments import accounts as chart
from system_under_test.payments import ledger
from system_under_test.payments.execution import Refusal
from system_under_test.payments.movement import Flow, Row, insert_processing
from system_under_test.payments.wire import invalid_request
from system_under_test.schema import accounts


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
    connection: AsyncConnection,
    flow: Flow,
    debit: Debit,
    *,
    object_id: str,
    values: Mapping[str, Any],
) -> Row | Refusal:
    """Decide the debit on the available balance; if it is covered, insert the object
    PROCESSING (with the balance it saw) and reserve the money, all in the caller's phase."""
    _, clearing_kind = ledger.POSTINGS[debit.reserve_posting]
    available = await available_for_debit(
        connection,
        merchant_id=debit.merchant_id,
        currency=debit.currency,
        clearing_kind=clearing_kind,
        defects=debit.defects,
        replica=debit.replica,
    )
    if available < debit.amount:
        return balance_insufficient(available, debit.amount)
    # Posted first, so that the object is inserted with its balance transaction.
    transaction_id = await ledger.transfer(
        connection,
        debit.reserve_posting,
        object_id=object_id,
        merchant_id=debit.merchant_id,
        currency=debit.currency,
        amount=debit.amount,
    )
    row = await insert_processing(
        connection,
        flow,
        {
            **values,
            "id": object_id,
            "merchant_id": debit.merchant_id,
            "amount": debit.amount,
            "currency": debit.currency,
            "balance_seen": available,
            "balance_transaction_id": transaction_id,
        },
        actor="api",
    )
    return row


async def available_for_debit(
    connection: AsyncConnection,
    *,
    merchant_id: str,
    currency: str,
    clearing_kind: str,
    defects: frozenset[str],
    replica: AsyncEngine | None,
) -> int:
    """The available balance to decide a debit on, read inside the decision's transaction."""
    available = await ledger.account_id(
        connection, ledger.account_key(merchant_id, chart.MERCHANT_AVAILABLE, currency)
    )
    clearing = await ledger.account_id(
        connection, ledger.account_key(merchant_id, clearing_kind, currency)
    )
    # The defect no-row-lock reads the rows without locking them, so two debits can both see
    # the balance before either is taken from it.
    balances = await ledger.lock_balances(
        connection, [available, clearing], for_update=NO_ROW_LOCK not in defects
    )
    if BALANCE_FROM_REPLICA in defects:
        assert replica is not None, "the configuration refuses this defect without a replica"
        # The defect: the locks are taken, but the balance decided on is a display read on
        # the replica, which may be behind the primary.
        async with replica.connect() as replica_connection:
            seen = await replica_connection.scalar(
                select(accounts.c.balance).where(accounts.c.id == available)
            )
        # A replica that has not even replayed the account's creation shows nothing.
        return seen or 0
    return balances[available]


def balance_insufficient(available: int, wanted: int) -> Refusal:
    """The refusal of a debit that the merchant's available balance does not cover."""
    return Refusal(
        invalid_request(
            f"The available balance ({available}) does not cover this amount ({wanted}).",
            code="balance_insufficient",
        )
    )
