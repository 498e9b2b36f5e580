"""Charges as a flow: the create phase (commit PROCESSING with its deadline), what the network
is sent (an authorization), and the ledger posting of a resolved charge."""

import asyncpg

from system_under_test.network_client import MovementKind, NetworkAnswer, Outcome
from system_under_test.payments import idempotency
from system_under_test.payments.charges import wire
from system_under_test.payments.flow import Created, Flow, NewMovement, Settlement
from system_under_test.payments.movement import POSTING_ID_SQL, insert_processing_ctes, with_ctes
from system_under_test.payments.requests import ChargeRequest
from system_under_test.payments.sql import Statement
from system_under_test.schema import charges

APPROVED = Settlement(posting="charge_succeeded", transaction_column="balance_transaction_id")
# A charge the network did not approve moved no money: nothing to post.
NOT_APPROVED = Settlement()


def _settlement(approved: bool) -> Settlement:
    return APPROVED if approved else NOT_APPROVED


def _failure_code(answer: NetworkAnswer) -> str:
    """Stripe's error code of a charge the network did not approve (the decline's reason is
    kept apart, as `decline_code`)."""
    if answer.outcome is Outcome.DECLINED and answer.decline_code != wire.PROCESSING_ERROR:
        return wire.CARD_DECLINED
    # Expired, never received, or the issuer's processing error: the card was not at fault.
    return wire.PROCESSING_ERROR


async def create(
    connection: asyncpg.Connection, new: NewMovement, request: ChargeRequest
) -> Created:
    """The charge's create phase, one statement: advance the key, insert the charge
    PROCESSING with its transitions (no money moves yet), and draw the id its approval will
    post under."""
    statement = Statement()
    ctes = []
    if new.advance is not None:
        ctes.append(("key", idempotency.advance_sql(statement, new.advance, new.object_id)))
    values = {
        "id": new.object_id,
        "merchant_id": new.merchant_id,
        "idempotency_key": new.key,
        "amount": request.amount,
        "currency": request.currency,
        "card_last4": request.card_number[-4:],
        "deadline": new.deadline,
        "description": request.description,
        "metadata": dict(request.metadata),
    }
    ctes += insert_processing_ctes(
        statement, FLOW, values, actor="api", source="key" if new.advance else None
    )
    text = with_ctes(ctes, f"SELECT created.*, {POSTING_ID_SQL} FROM created")
    row = await connection.fetchrow(text, *statement.values)
    if row is None:
        raise idempotency.Superseded
    created = dict(row)
    posting_id = created.pop("posting_id")
    # The card number goes to the network only; the charge keeps its last four digits.
    fields = {
        "card_number": request.card_number,
        "amount": request.amount,
        "currency": request.currency,
    }
    return Created(created, fields, posting_id)


FLOW = Flow(
    name="charge",
    table=charges,
    network_kind=MovementKind.AUTHORIZATION,
    id_prefix="ch",
    create=create,
    create_is_one_statement=True,
    settlement=_settlement,
    final_response=wire.final_response,
    failure_code=_failure_code,
)
