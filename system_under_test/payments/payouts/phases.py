"""Payouts as a flow. The create phase decides on the merchant's available balance, read and
locked on the primary, and reserves the amount in the same transaction; a payout that fails at
the network gives it back."""

import asyncpg

from system_under_test.network_client import MovementKind
from system_under_test.payments import idempotency
from system_under_test.payments.debits import reservation, reserve
from system_under_test.payments.flow import (
    Created,
    Flow,
    NewMovement,
    Refusal,
    Settlement,
    decline_code_or,
)
from system_under_test.payments.payouts import wire
from system_under_test.payments.requests import PayoutRequest
from system_under_test.schema import payouts

FAILURE_CODE = "could_not_process"
# As for refunds: only the failure's reversal touches the merchant's balance.
APPROVED = Settlement(posting="payout_succeeded")
NOT_APPROVED = Settlement(
    posting="payout_failed", transaction_column="failure_balance_transaction_id"
)


async def create(
    connection: asyncpg.Connection, new: NewMovement, request: PayoutRequest
) -> Created | Refusal:
    """The payout's part of the create phase: decide on the merchant's balance, reserve the
    money, insert the payout PROCESSING."""
    if new.advance is not None:
        await idempotency.advance(connection, new.advance, new.object_id)
    reserved = await reserve(
        connection,
        RESERVATION,
        new,
        request.currency,
        request.amount,
        metadata=request.metadata,
        values={"description": request.description},
    )
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
    on_approval=APPROVED,
    on_refusal=NOT_APPROVED,
    final_response=wire.final_response,
    failure_code=decline_code_or(FAILURE_CODE),
)
# The amount goes from the merchant's available balance into payout clearing until the
# network answers.
RESERVATION = reservation(FLOW, "payout_reserved", ("description",))
