"""The atomic phases of a charge, each one transaction (brandur's recovery points).

1. `start_charge`: insert the charge PENDING and move it to PROCESSING, committed before the
   authorization is sent.
2. the foreign call: one authorization to the network (outside any transaction).
3. `resolve_charge`: apply a definitive answer (SUCCEEDED with its ledger posting, or FAILED)
   and store the idempotent response. The API runs it for the answer it got; the recovery
   worker runs it for the answer a look-up gave.
"""

import datetime
from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from system_under_test.ids import new_id
from system_under_test.network_client import NetworkAnswer, Outcome
from system_under_test.payments import ledger
from system_under_test.payments.charges.states import ChargeEvent, ChargeState, next_state
from system_under_test.payments.charges.wire import final_response
from system_under_test.schema import charge_transitions, charges, idempotency_keys

RECOVERY_POINT_STARTED = "started"
RECOVERY_POINT_CHARGE_PROCESSING = "charge_processing"
RECOVERY_POINT_FINISHED = "finished"

DEFINITIVE_OUTCOMES = frozenset(
    {Outcome.APPROVED, Outcome.DECLINED, Outcome.EXPIRED, Outcome.NOT_FOUND}
)


async def _transition(
    connection: AsyncConnection,
    charge_id: str,
    source: ChargeState | None,
    target: ChargeState,
    actor: str,
) -> None:
    await connection.execute(
        charge_transitions.insert().values(
            charge_id=charge_id, from_state=source, to_state=target, actor=actor
        )
    )


async def start_charge(
    engine: AsyncEngine,
    *,
    merchant_id: str,
    idempotency_key_id: int | None,
    idempotency_key: str | None,
    amount: int,
    currency: str,
    card_number: str,
    authorization_deadline: datetime.datetime,
) -> Mapping[str, Any]:
    """Create the charge and commit it PROCESSING, with the key's new recovery point."""
    charge_id = new_id("ch")
    processing = next_state(ChargeState.PENDING, ChargeEvent.START_AUTHORIZATION)
    async with engine.begin() as connection:
        await connection.execute(
            charges.insert().values(
                id=charge_id,
                merchant_id=merchant_id,
                idempotency_key=idempotency_key,
                amount=amount,
                currency=currency,
                card_last4=card_number[-4:],
                state=ChargeState.PENDING,
            )
        )
        await _transition(connection, charge_id, None, ChargeState.PENDING, "api")
        row = (
            (
                await connection.execute(
                    update(charges)
                    .where(charges.c.id == charge_id)
                    .values(state=processing, authorization_deadline=authorization_deadline)
                    .returning(*charges.c)
                )
            )
            .mappings()
            .one()
        )
        await _transition(connection, charge_id, ChargeState.PENDING, processing, "api")
        if idempotency_key_id is not None:
            await connection.execute(
                update(idempotency_keys)
                .where(idempotency_keys.c.id == idempotency_key_id)
                .values(recovery_point=RECOVERY_POINT_CHARGE_PROCESSING, charge_id=charge_id)
            )
    return row


def _failure_code(answer: NetworkAnswer) -> str:
    if answer.outcome is Outcome.DECLINED:
        return answer.decline_code or "generic_decline"
    # Expired or never received: no money moved, and the card was not at fault.
    return "processing_error"


async def resolve_charge(
    engine: AsyncEngine, charge_id: str, answer: NetworkAnswer, *, actor: str
) -> Mapping[str, Any]:
    """Apply a definitive network answer to a PROCESSING charge; a no-op if already final.

    Returns the charge row as committed.
    """
    assert answer.outcome in DEFINITIVE_OUTCOMES, f"not definitive: {answer}"
    async with engine.begin() as connection:
        row = (
            (
                await connection.execute(
                    select(charges).where(charges.c.id == charge_id).with_for_update()
                )
            )
            .mappings()
            .one()
        )
        state = ChargeState(row["state"])
        if state is not ChargeState.PROCESSING:
            return row
        approved = answer.outcome is Outcome.APPROVED
        target = next_state(state, ChargeEvent.APPROVED if approved else ChargeEvent.DECLINED)
        resolved = (
            (
                await connection.execute(
                    update(charges)
                    .where(charges.c.id == charge_id)
                    .values(
                        state=target,
                        failure_code=None if approved else _failure_code(answer),
                        network_authorization_id=answer.authorization_id,
                        resolved_by=actor,
                        updated_at=func.now(),
                    )
                    .returning(*charges.c)
                )
            )
            .mappings()
            .one()
        )
        await _transition(connection, charge_id, state, target, actor)
        if approved:
            await ledger.post_charge(
                connection,
                charge_id=charge_id,
                merchant_id=row["merchant_id"],
                amount=row["amount"],
                currency=row["currency"],
            )
        status_code, body = final_response(resolved)
        await connection.execute(
            update(idempotency_keys)
            .where(idempotency_keys.c.charge_id == charge_id)
            .values(
                recovery_point=RECOVERY_POINT_FINISHED,
                response_code=status_code,
                response_body=body,
                locked_at=None,
            )
        )
    return resolved
