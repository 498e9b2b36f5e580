"""Charges as a flow: the create phase (commit PROCESSING with its deadline), what the network
is sent (an authorization), and the ledger posting of a resolved charge."""

from sqlalchemy.ext.asyncio import AsyncConnection

from system_under_test.network_client import MovementKind, NetworkAnswer, Outcome
from system_under_test.payments import ledger
from system_under_test.payments.charges import wire
from system_under_test.payments.execution import Created, CreatePhase
from system_under_test.payments.movement import Flow, Row, insert_processing
from system_under_test.schema import charges


async def _settle_ledger(connection: AsyncConnection, charge: Row, approved: bool) -> None:
    if approved:
        await ledger.transfer(
            connection,
            "charge_succeeded",
            object_id=charge["id"],
            merchant_id=charge["merchant_id"],
            currency=charge["currency"],
            amount=charge["amount"],
        )


def _failure_code(answer: NetworkAnswer) -> str:
    if answer.outcome is Outcome.DECLINED:
        return answer.decline_code or "generic_decline"
    # Expired or never received: no money moved, and the card was not at fault.
    return "processing_error"


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
    *, merchant_id: str, key: str | None, amount: int, currency: str, card_number: str
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
            },
            actor="api",
        )
        # The card number goes to the network only; the charge keeps its last four digits.
        fields = {"card_number": card_number, "amount": amount, "currency": currency}
        return Created(row, fields)

    return create
