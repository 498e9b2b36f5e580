"""Charges as a flow: the create phase (commit PROCESSING with its deadline), what the network
is sent (an authorization), and the ledger posting of a resolved charge."""

import datetime
from collections.abc import Mapping

import asyncpg

from system_under_test.network_client import MovementKind, NetworkAnswer, Outcome
from system_under_test.payments import idempotency
from system_under_test.payments.charges import wire
from system_under_test.payments.execution import CreatePhase
from system_under_test.payments.flow import Created, Flow, Settlement
from system_under_test.payments.movement import POSTING_ID_SQL, insert_processing_ctes, with_ctes
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


FLOW = Flow(
    name="charge",
    table=charges,
    network_kind=MovementKind.AUTHORIZATION,
    id_prefix="ch",
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
    card_number: str,
    description: str | None = None,
    metadata: Mapping[str, str] | None = None,
) -> CreatePhase:
    """The charge's create phase, one statement: advance the key, insert the charge
    PROCESSING with its transitions (no money moves yet), and draw the id its approval will
    post under."""

    async def create(
        connection: asyncpg.Connection,
        object_id: str,
        deadline: datetime.datetime,
        advance: idempotency.Advance | None,
    ) -> Created:
        statement = Statement()
        ctes = []
        if advance is not None:
            ctes.append(("key", idempotency.advance_sql(statement, advance, object_id)))
        values = {
            "id": object_id,
            "merchant_id": merchant_id,
            "idempotency_key": key,
            "amount": amount,
            "currency": currency,
            "card_last4": card_number[-4:],
            "deadline": deadline,
            "description": description,
            "metadata": dict(metadata or {}),
        }
        ctes += insert_processing_ctes(
            statement, FLOW, values, actor="api", source="key" if advance else None
        )
        text = with_ctes(ctes, f"SELECT created.*, {POSTING_ID_SQL} FROM created")
        row = await connection.fetchrow(text, *statement.values)
        if row is None:
            raise idempotency.Superseded
        created = dict(row)
        posting_id = created.pop("posting_id")
        # The card number goes to the network only; the charge keeps its last four digits.
        fields = {"card_number": card_number, "amount": amount, "currency": currency}
        return Created(created, fields, posting_id)

    return CreatePhase(create, one_statement=True)
