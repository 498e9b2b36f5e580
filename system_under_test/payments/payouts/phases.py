"""Payouts as a flow. The create phase decides on the merchant's available balance, read and
locked on the primary, and reserves the amount in the same transaction; a payout that fails at
the network gives it back."""

import datetime

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from system_under_test.network_client import MovementKind, NetworkAnswer
from system_under_test.payments import accounts as chart
from system_under_test.payments import ledger
from system_under_test.payments.debits import available_for_debit, balance_insufficient
from system_under_test.payments.execution import Created, CreatePhase, Refusal
from system_under_test.payments.movement import Flow, Row, insert_processing
from system_under_test.payments.payouts import wire
from system_under_test.schema import payouts

FAILURE_CODE = "could_not_process"


async def _settle_ledger(connection: AsyncConnection, payout: Row, approved: bool) -> None:
    await ledger.transfer(
        connection,
        "payout_succeeded" if approved else "payout_failed",
        object_id=payout["id"],
        merchant_id=payout["merchant_id"],
        currency=payout["currency"],
        amount=payout["amount"],
    )


def _failure_code(answer: NetworkAnswer) -> str:
    return answer.decline_code or FAILURE_CODE


FLOW = Flow(
    name="payout",
    table=payouts,
    network_kind=MovementKind.PAYOUT,
    id_prefix="po",
    settle_ledger=_settle_ledger,
    final_response=wire.final_response,
    failure_code=_failure_code,
)


def create_phase(
    *,
    merchant_id: str,
    key: str | None,
    amount: int,
    currency: str,
    defects: frozenset[str],
    replica: AsyncEngine | None,
) -> CreatePhase:
    """The payout's part of the create phase: decide, reserve, insert it PROCESSING."""

    async def create(
        connection: AsyncConnection, object_id: str, deadline: datetime.datetime
    ) -> Created | Refusal:
        available = await available_for_debit(
            connection,
            merchant_id=merchant_id,
            currency=currency,
            clearing_kind=chart.PAYOUT_CLEARING,
            defects=defects,
            replica=replica,
        )
        if available < amount:
            return balance_insufficient(available, amount)
        row = await insert_processing(
            connection,
            FLOW,
            {
                "id": object_id,
                "merchant_id": merchant_id,
                "idempotency_key": key,
                "amount": amount,
                "currency": currency,
                "deadline": deadline,
                "balance_seen": available,
            },
            actor="api",
        )
        await ledger.transfer(
            connection,
            "payout_reserved",
            object_id=object_id,
            merchant_id=merchant_id,
            currency=currency,
            amount=amount,
        )
        return Created(row, {"amount": amount, "currency": currency})

    return create
