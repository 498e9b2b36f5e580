"""Payouts as a flow. The create phase decides on the merchant's available balance, read and
locked on the primary, and reserves the amount in the same transaction; a payout that fails at
the network gives it back."""

import datetime
from collections.abc import Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from system_under_test.network_client import MovementKind, NetworkAnswer
from system_under_test.payments import ledger
from system_under_test.payments.debits import Debit, reserve
from system_under_test.payments.execution import Created, CreatePhase, Refusal
from system_under_test.payments.movement import Flow, Row
from system_under_test.payments.payouts import wire
from system_under_test.schema import payouts

FAILURE_CODE = "could_not_process"


async def _settle_ledger(
    connection: AsyncConnection, payout: Row, approved: bool
) -> Mapping[str, Any]:
    transaction_id = await ledger.transfer(
        connection,
        "payout_succeeded" if approved else "payout_failed",
        object_id=payout["id"],
        merchant_id=payout["merchant_id"],
        currency=payout["currency"],
        amount=payout["amount"],
    )
    # As for refunds: only the failure's reversal touches the merchant's balance.
    return {} if approved else {"failure_balance_transaction_id": transaction_id}


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
    description: str | None = None,
    metadata: Mapping[str, str] | None = None,
) -> CreatePhase:
    """The payout's part of the create phase: decide on the merchant's balance, reserve the
    money, insert the payout PROCESSING."""

    async def create(
        connection: AsyncConnection, object_id: str, deadline: datetime.datetime
    ) -> Created | Refusal:
        debit = Debit(merchant_id, currency, amount, "payout_reserved", defects, replica)
        values = {
            "idempotency_key": key,
            "deadline": deadline,
            "description": description,
            "metadata": dict(metadata or {}),
        }
        row = await reserve(connection, FLOW, debit, object_id=object_id, values=values)
        if isinstance(row, Refusal):
            return row
        return Created(row, {"amount": amount, "currency": currency})

    return create
