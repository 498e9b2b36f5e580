"""Refunds as a flow. The create phase decides under locks, on the primary: the charge row
(its remainder) and then the merchant's accounts (its available balance), in that order. A
refund that fails at the network gives both back."""

import asyncpg
from sqlalchemy import CTE, BigInteger, bindparam, exists, select, update

from system_under_test.network_client import MovementKind
from system_under_test.payments import idempotency
from system_under_test.payments.debits import reservation, reserve
from system_under_test.payments.errors import StripeError
from system_under_test.payments.flow import (
    Created,
    Flow,
    NewMovement,
    Refusal,
    Row,
    Settlement,
    decline_code_or,
)
from system_under_test.payments.refunds import wire
from system_under_test.payments.requests import RefundRequest
from system_under_test.payments.states import MovementState
from system_under_test.schema import charges, refunds

# Stripe's failure_reason when the card network gives none.
FAILURE_CODE = "unknown"
# A success moves money between platform accounts only; a failure gives the merchant's money
# back (a balance transaction of theirs) and the amount back to the charge.
APPROVED = Settlement(posting="refund_succeeded")
NOT_APPROVED = Settlement(
    posting="refund_failed",
    transaction_column="failure_balance_transaction_id",
    gives_back_charge=True,
)
# Locked first, before the accounts: every path that locks both keeps this order.
LOCKED_CHARGE = "SELECT * FROM charges WHERE id = $1 AND merchant_id = $2 FOR UPDATE"


def _decide(charge: Row | None, charge_id: str, amount: int | None) -> int | Refusal:
    """The refund's amount, or why the charge cannot give it (pure)."""
    if charge is None:
        return Refusal(
            StripeError.NO_SUCH_OBJECT.answer(param="charge", noun="charge", shown=f"'{charge_id}'")
        )
    if charge["state"] != MovementState.SUCCEEDED:
        return Refusal(
            StripeError.CHARGE_NOT_REFUNDABLE.answer(param="charge", charge_id=charge_id)
        )
    remainder = charge["amount"] - charge["amount_refunded"]
    if remainder == 0:
        return Refusal(StripeError.CHARGE_ALREADY_REFUNDED.answer(charge_id=charge_id))
    wanted = remainder if amount is None else amount
    if wanted > remainder:
        return Refusal(
            StripeError.REFUND_TOO_LARGE.answer(param="amount", wanted=wanted, remainder=remainder)
        )
    return wanted


async def create(
    connection: asyncpg.Connection, new: NewMovement, request: RefundRequest
) -> Created | Refusal:
    """The refund's part of the create phase: decide on the charge's remainder and the
    merchant's balance, reserve the money, insert the refund PROCESSING."""
    if new.advance is not None:
        await idempotency.advance(connection, new.advance, new.object_id)
    charge_id = request.charge_id
    charge = await connection.fetchrow(LOCKED_CHARGE, charge_id, new.merchant_id)
    wanted = _decide(charge, charge_id, request.amount)
    if isinstance(wanted, Refusal):
        return wanted
    assert charge is not None
    reserved = await reserve(
        connection,
        RESERVATION,
        new,
        charge["currency"],
        wanted,
        metadata=request.metadata,
        values={"charge_id": charge_id},
    )
    if isinstance(reserved, Refusal):
        return reserved
    row, posting_id = reserved
    fields = {"authorization_id": charge["network_record_id"], "amount": wanted}
    return Created(row, fields | {"currency": charge["currency"]}, posting_id)


FLOW = Flow(
    name="refund",
    table=refunds,
    network_kind=MovementKind.REFUND,
    id_prefix="re",
    create=create,
    create_is_one_statement=False,
    on_approval=APPROVED,
    on_refusal=NOT_APPROVED,
    final_response=wire.final_response,
    failure_code=decline_code_or(FAILURE_CODE),
)


def _refunded(created: CTE) -> list[CTE]:
    # The charge's remainder shrinks in the same statement as the reservation.
    refunded = (
        update(charges)
        .where(charges.c.id == bindparam("charge_id"), exists(select(1).select_from(created)))
        .values(amount_refunded=charges.c.amount_refunded + bindparam("amount", type_=BigInteger))
    )
    return [refunded.cte("refunded")]


# The amount goes from the merchant's available balance into refund clearing until the
# network answers, and the charge's remainder shrinks by it.
RESERVATION = reservation(FLOW, "refund_reserved", ("charge_id",), extra=_refunded)
