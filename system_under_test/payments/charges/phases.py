"""Charges as a flow: the create phase (commit PROCESSING with its deadline), what the network
is sent (an authorization), and the ledger posting of a resolved charge."""

import asyncpg
from sqlalchemy import select

from system_under_test.network_client import MovementKind, NetworkAnswer, Outcome
from system_under_test.payments import idempotency, ledger
from system_under_test.payments.charges import wire
from system_under_test.payments.flow import Created, Flow, NewMovement, Settlement
from system_under_test.payments.processing import (
    NEW_COLUMNS,
    column_parameters,
    inserted_processing,
    new_values,
)
from system_under_test.payments.requests import ChargeRequest
from system_under_test.payments.sql import Named, compiled
from system_under_test.schema import charges

APPROVED = Settlement(posting="charge_succeeded", transaction_column="balance_transaction_id")
# A charge the network did not approve moved no money: nothing to post.
NOT_APPROVED = Settlement()


def _failure_code(answer: NetworkAnswer) -> str:
    """Stripe's error code of a charge the network did not approve (the decline's reason is
    kept apart, as `decline_code`)."""
    if answer.outcome is Outcome.DECLINED and answer.decline_code != wire.PROCESSING_ERROR:
        return wire.CARD_DECLINED
    # Expired, never received, or the issuer's processing error: the card was not at fault.
    return wire.PROCESSING_ERROR


def _creating(keyed: bool) -> Named:
    """The create statement: the key's fenced advance when `keyed` (no charge when it matches
    nothing), the charge inserted PROCESSING with its transitions, and the id its approval
    will post under drawn."""
    values = column_parameters(charges, CREATED_COLUMNS)
    key = idempotency.ADVANCING.cte("key") if keyed else None
    created, stepped = inserted_processing(
        "charge", charges, values, sources=[] if key is None else [key]
    )
    final = select(created, ledger.DRAWN_TRANSACTION_ID.label("posting_id")).add_cte(stepped)
    return compiled(final)


# The columns a charge is created with, each a parameter of its own name.
CREATED_COLUMNS = (*NEW_COLUMNS, "amount", "currency", "card_last4", "description")
# With the key's advance, and without a key.
CREATE = {keyed: _creating(keyed) for keyed in (True, False)}


async def create(
    connection: asyncpg.Connection, new: NewMovement, request: ChargeRequest
) -> Created:
    """The charge's create phase, one statement: advance the key, insert the charge
    PROCESSING with its transitions (no money moves yet), and draw the id its approval will
    post under."""
    values = new_values(new, request.metadata) | {
        "amount": request.amount,
        "currency": request.currency,
        "card_last4": request.card_number[-4:],
        "description": request.description,
    }
    if new.advance is not None:
        values |= idempotency.advance_arguments(new.advance, new.object_id)
    row = await CREATE[new.advance is not None].fetchrow(connection, **values)
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
    on_approval=APPROVED,
    on_refusal=NOT_APPROVED,
    final_response=wire.final_response,
    failure_code=_failure_code,
)
