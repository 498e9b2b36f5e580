"""Charges as a flow: the create phase (commit PROCESSING with its deadline), what the network
is sent (an authorization), and the ledger posting of a resolved charge."""

from collections.abc import Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from system_under_test.network_client import MovementKind, NetworkAnswer, Outcome
from system_under_test.payments import ledger
from system_under_test.payments.charges import wire
from system_under_test.payments.execution import Created, CreatePhase
from system_under_test.payments.movement import Flow, Row, insert_processing
from system_under_test.schema import charges


async def _settle_ledger(
    connection: AsyncConnection, charge: Row, approved: bool
) -> Mapping[str, Any]:
    if not approved:
        return {}
    transaction_id = await ledger.transfer(
        connection,
        "charge_succeeded",
        object_id=charge["id"],
        merchant_id=charge["merchant_id"],
        currency=charge["currency"],
        amount=charge["amount"],
    )
    return {"balance_transaction_id": transaction_id}


def _failure_code(answer: NetworkAnswer) -> str:
    """Stripe's error code of a charge the network did not approve (the decline's reason is
    kept apart, as `decline_code`)."""
    if answer.outcome is Outcome.DECLINED and answer.decline_code != wire.PROCESSING_ERROR:
        return wire.CARD_DECLINED
    # Expired, never received, or the issuer's processing error: the card was not at fault.
    return wire.PROCESSING_ERROR


FLOW = Flow(
    name="charge",
    table=charges,
    network_kind=MovementKind.AUTHORIZATION,
    id_prefix="ch",
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
    card_number: str,
    description: str | None = None,
    metadata: Mapping[str, str] | None = None,
) -> CreatePhase:
    """The charge's part of the create phase: insert it PROCESSING (no money moves yet)."""

    async def create(connection: AsyncConnection, object_id: str, deadline) -> Created:
        row = await insert_processing(
            connection,
            FLOW,
            {
                "id": object_id,
                "merchant_id": merchant_id,
                "idempotency_key": key,
                "amount": amount,
                "currency": currency,
                "card_last4": card_number[-4:],
                "deadline": deadline,
                "description": description,
                "metadata": dict(metadata or {}),
            },
            actor="api",
        )
        # The card number goes to the network only; the charge keeps its last four digits.
        fields = {"card_number": card_number, "amount": amount, "currency": currency}
        return Created(row, fields)

    return create
