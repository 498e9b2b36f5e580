"""Refunds as a flow. The create phase decides under locks, on the primary: the charge row
(its remainder) and then the merchant's accounts (its available balance), in that order. A
refund that fails at the network gives both back."""

import datetime
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from system_under_test.network_client import MovementKind, NetworkAnswer
from system_under_test.payments import ledger
from system_under_test.payments.debits import Debit, reserve
from system_under_test.payments.execution import Created, CreatePhase, Refusal
from system_under_test.payments.movement import Flow, Row
from system_under_test.payments.refunds import wire
from system_under_test.payments.states import MovementState
from system_under_test.payments.wire import invalid_request
from system_under_test.schema import charges, refunds

# Stripe's failure_reason when the card network gives none.
FAILURE_CODE = "unknown"


async def _settle_ledger(
    connection: AsyncConnection, refund: Row, approved: bool
) -> Mapping[str, Any]:
    if not approved:
        # The charge row before the accounts: the order the create phase locks them in.
        await connection.execute(
            update(charges)
            .where(charges.c.id == refund["charge_id"])
            .values(amount_refunded=charges.c.amount_refunded - refund["amount"])
        )
    transaction_id = await ledger.transfer(
        connection,
        "refund_succeeded" if approved else "refund_failed",
        object_id=refund["id"],
        merchant_id=refund["merchant_id"],
        currency=refund["currency"],
        amount=refund["amount"],
    )
    # A success moves money between platform accounts only; a failure gives the merchant's
    # money back, which is a balance transaction of theirs.
    return {} if approved else {"failure_balance_transaction_id": transaction_id}


def _failure_code(answer: NetworkAnswer) -> str:
    return answer.decline_code or FAILURE_CODE


FLOW = Flow(
    name="refund",
    table=refunds,
    network_kind=MovementKind.REFUND,
    id_prefix="re",
    settle_ledger=_settle_ledger,
    final_response=wire.final_response,
    failure_code=_failure_code,
)


def _decide(charge: Row | None, charge_id: str, amount: int | None) -> int | Refusal:
    """The refund's amount, or why the charge cannot give it (pure)."""
    if charge is None:
        return Refusal(
            invalid_request(
                f"No such charge: '{charge_id}'",
                param="charge",
                code="resource_missing",
                status=404,
            )
        )
    if charge["state"] != MovementState.SUCCEEDED:
        return Refusal(
            invalid_request(
                f"Charge {charge_id} did not succeed; only a succeeded charge can be refunded.",
                param="charge",
                code="charge_not_refundable",
            )
        )
    remainder = charge["amount"] - charge["amount_refunded"]
    if remainder == 0:
        return Refusal(
            invalid_request(
                f"Charge {charge_id} has already been refunded.", code="charge_already_refunded"
            )
        )
    wanted = remainder if amount is None else amount
    if wanted > remainder:
        return Refusal(
            invalid_request(
                f"Refund amount ({wanted}) is greater than unrefunded amount on charge "
                f"({remainder}).",
                param="amount",
                code="amount_too_large",
            )
        )
    return wanted


async def _locked_charge(
    connection: AsyncConnection, charge_id: str, merchant_id: str
) -> Row | None:
    # Locked first, before the accounts: every path that locks both keeps this order.
    return (
        (
            await connection.execute(
                select(charges)
                .where(charges.c.id == charge_id, charges.c.merchant_id == merchant_id)
                .with_for_update()
            )
        )
        .mappings()
        .first()
    )


def create_phase(
    *,
    merchant_id: str,
    key: str | None,
    charge_id: str,
    amount: int | None,
    defects: frozenset[str],
    replica: AsyncEngine | None,
    metadata: Mapping[str, str] | None = None,
) -> CreatePhase:
    """The refund's part of the create phase: decide on the charge's remainder and the
    merchant's balance, reserve the money, insert the refund PROCESSING."""

    async def create(
        connection: AsyncConnection, object_id: str, deadline: datetime.datetime
    ) -> Created | Refusal:
        charge = await _locked_charge(connection, charge_id, merchant_id)
        wanted = _decide(charge, charge_id, amount)
        if isinstance(wanted, Refusal):
            return wanted
        assert charge is not None
        debit = Debit(merchant_id, charge["currency"], wanted, "refund_reserved", defects, replica)
        values = {
            "idempotency_key": key,
            "charge_id": charge_id,
            "deadline": deadline,
            "metadata": dict(metadata or {}),
        }
        row = await reserve(connection, FLOW, debit, object_id=object_id, values=values)
        if isinstance(row, Refusal):
            return row
        await connection.execute(
            update(charges)
            .where(charges.c.id == charge_id)
            .values(amount_refunded=charges.c.amount_refunded + wanted)
        )
        fields = {"authorization_id": charge["network_record_id"], "amount": wanted}
        return Created(row, fields | {"currency": debit.currency})

    return create
