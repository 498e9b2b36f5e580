"""Payouts as a flow. The create phase decides on the merchant's available balance, read and
locked on the primary, and reserves the amount in the same transaction; a payout that fails at
the network gives it back."""

import asyncpg

from system_under_test.network_client import MovementKind, NetworkAnswer
from system_under_test.payments import idempotency
from system_under_test.payments.debits import Debit, reserve, reserving
from system_under_test.payments.flow import Created, Flow, NewMovement, Refusal, Settlement
from system_under_test.payments.payouts import wire
from system_under_test.payments.requests import PayoutRequest
from system_under_test.payments.sql import json_text
from system_under_test.schema import payouts

FAILURE_CODE = "could_not_process"
# As for refunds: only the failure's reversal touches the merchant's balance.
APPROVED = Settlement(posting="payout_succeeded")
NOT_APPROVED = Settlement(
    posting="payout_failed", transaction_column="failure_balance_transaction_id"
)


RESERVE_POSTING = "payout_reserved"
# The columns a payout adds to a debit's, each a parameter of its own name.
CREATED_COLUMNS = ("idempotency_key", "deadline", "description", "metadata")


def _settlement(approved: bool) -> Settlement:
    return APPROVED if approved else NOT_APPROVED


def _failure_code(answer: NetworkAnswer) -> str:
    return answer.decline_code or FAILURE_CODE


async def create(
    connection: asyncpg.Connection, new: NewMovement, request: PayoutRequest
) -> Created | Refusal:
    """The payout's part of the create phase: decide on the merchant's balance, reserve the
    money, insert the payout PROCESSING."""
    if new.advance is not None:
        await idempotency.advance(connection, new.advance, new.object_id)
    debit = Debit(
        new.merchant_id,
        request.currency,
        request.amount,
        RESERVE_POSTING,
        new.defects,
        new.replica,
    )
    values = {
        "idempotency_key": new.key,
        "deadline": new.deadline,
        "description": request.description,
        "metadata": json_text(request.metadata),
    }
    reserved = await reserve(connection, RESERVE, debit, object_id=new.object_id, values=values)
    if isinstance(reserved, Refusal):
        return reserved
    row, posting_id = reserved
    return Created(row, {"amount": request.amount, "currency": request.currency}, posting_id)


FLOW = Flow(
    name="payout",
    table=payouts,
    network_kind=MovementKind.PAYOUT,
    id_prefix="po",
    create=create,
    create_is_one_statement=False,
    settlement=_settlement,
    final_response=wire.final_response,
    failure_code=_failure_code,
)
# By whether the accounts are locked (off only under the defect no-row-lock).
RESERVE = {
    row_lock: reserving(FLOW, RESERVE_POSTING, CREATED_COLUMNS, row_lock=row_lock)
    for row_lock in (True, False)
}
