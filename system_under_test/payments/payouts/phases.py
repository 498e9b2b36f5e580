"""Payouts as a flow. The create phase decides on the merchant's available balance, read and
locked on the primary, and reserves the amount in the same transaction; a payout that fails at
the network gives it back."""

import datetime
from collections.abc import Mapping

import asyncpg
from sqlalchemy.ext.asyncio import AsyncEngine

from system_under_test.network_client import MovementKind, NetworkAnswer
from system_under_test.payments import idempotency
from system_under_test.payments.debits import Debit, reserve
from system_under_test.payments.execution import CreatePhase
from system_under_test.payments.flow import Created, Flow, Refusal, Settlement
from system_under_test.payments.payouts import wire
from system_under_test.schema import payouts

FAILURE_CODE = "could_not_process"
# As for refunds: only the failure's reversal touches the merchant's balance.
APPROVED = Settlement(posting="payout_succeeded")
NOT_APPROVED = Settlement(
    posting="payout_failed", transaction_column="failure_balance_transaction_id"
)


def _settlement(approved: bool) -> Settlement:
    return APPROVED if approved else NOT_APPROVED


def _failure_code(answer: NetworkAnswer) -> str:
    return answer.decline_code or FAILURE_CODE


FLOW = Flow(
    name="payout",
    table=payouts,
    network_kind=MovementKind.PAYOUT,
    id_prefix="po",
    settlement=_settlement,
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
        connection: asyncpg.Connection,
        object_id: str,
        deadline: datetime.datetime,
        advance: idempotency.Advance | None,
    ) -> Created | Refusal:
        if advance is not None:
            await idempotency.advance(connection, advance, object_id)
        debit = Debit(merchant_id, currency, amount, "payout_reserved", defects, replica)
        values = {
            "idempotency_key": key,
            "deadline": deadline,
            "description": description,
            "metadata": dict(metadata or {}),
        }
        reserved = await reserve(connection, FLOW, debit, object_id=object_id, values=values)
        if isinstance(reserved, Refusal):
            return reserved
        row, posting_id = reserved
        return Created(row, {"amount": amount, "currency": currency}, posting_id)

    return CreatePhase(create, one_statement=False)
