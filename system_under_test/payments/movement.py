"""What charges, refunds and payouts share: each is one money movement at the card network.

A `Flow` names what differs between the three (table, network kind, ledger postings, wire
answer); the object's creation in PROCESSING, its transitions and the resolve phase that
applies the network's definitive answer are the same code for all of them.
"""

import datetime
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import Table, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from system_under_test.network_client import (
    DEFINITIVE_OUTCOMES,
    MovementKind,
    NetworkAnswer,
    Outcome,
)
from system_under_test.payments import idempotency
from system_under_test.payments.states import (
    MovementEvent,
    MovementState,
    next_state,
)
from system_under_test.schema import transitions

Row = Mapping[str, Any]
# Posts the ledger entries (and any other bookkeeping) of a resolution: (connection, the row
# being resolved, whether the network approved it) -> columns to set on the row with its new
# state (the balance transaction it posted).
SettleLedger = Callable[[AsyncConnection, Row, bool], Awaitable[Mapping[str, Any]]]


class NetworkPort(Protocol):
    """The card network as the flows need it (network_client.CardNetworkClient has it)."""

    async def send(
        self,
        kind: MovementKind,
        *,
        reference: str,
        fields: Mapping[str, object],
        not_after_ms: int,
    ) -> NetworkAnswer: ...

    async def look_up(self, kind: MovementKind, reference: str) -> NetworkAnswer: ...


@dataclass(frozen=True)
class Flow:
    """One kind of money movement: what its phases need to know of it."""

    name: str
    table: Table
    network_kind: MovementKind
    id_prefix: str
    settle_ledger: SettleLedger
    # The answer (status, body) a final object gives, and stores with its idempotency key.
    final_response: Callable[[Row], tuple[int, dict[str, Any]]]
    # The failure code of an object the network did not approve.
    failure_code: Callable[[NetworkAnswer], str]


def deadline_ms(deadline: datetime.datetime) -> int:
    """The deadline as the network reads it: milliseconds since the epoch."""
    return int(deadline.timestamp() * 1000)


async def insert_processing(
    connection: AsyncConnection, flow: Flow, values: Mapping[str, Any], *, actor: str
) -> Row:
    """Insert the object PROCESSING, recording both steps from PENDING, and return its row.

    It is committed with the caller's phase, before the network hears of the object.
    """
    processing = next_state(MovementState.PENDING, MovementEvent.START_PROCESSING)
    row = (
        (
            await connection.execute(
                flow.table.insert().values(**values, state=processing).returning(*flow.table.c)
            )
        )
        .mappings()
        .one()
    )
    await connection.execute(
        transitions.insert(),
        [
            {
                "object_type": flow.name,
                "object_id": row["id"],
                "from_state": source,
                "to_state": target,
                "actor": actor,
            }
            for source, target in (
                (None, MovementState.PENDING),
                (MovementState.PENDING, processing),
            )
        ],
    )
    return row


async def read_object(engine: AsyncEngine, flow: Flow, object_id: str) -> Row | None:
    """The object's row on the primary, or None."""
    async with engine.connect() as connection:
        return (
            (await connection.execute(select(flow.table).where(flow.table.c.id == object_id)))
            .mappings()
            .first()
        )


async def resolve(
    engine: AsyncEngine,
    flow: Flow,
    object_id: str,
    answer: NetworkAnswer,
    *,
    actor: str,
    claim: idempotency.Proceed | None,
) -> Row:
    """The resolve phase: apply a definitive network answer to a PROCESSING object, post its
    ledger entries and store its key's final response, in one transaction.

    A no-op on the object when it is final already. With a `claim`, the key's write is fenced:
    a superseded request raises idempotency.Superseded and changes nothing. Without one
    (recovery), the key is finished only if still unfinished. Returns the row as committed.
    """
    assert answer.outcome in DEFINITIVE_OUTCOMES, f"not definitive: {answer}"
    async with engine.begin() as connection:
        row = (
            (
                await connection.execute(
                    select(flow.table).where(flow.table.c.id == object_id).with_for_update()
                )
            )
            .mappings()
            .one()
        )
        state = MovementState(row["state"])
        if state is MovementState.PROCESSING:
            row = await _apply(connection, flow, row, answer, actor)
        status, body = flow.final_response(row)
        if claim is not None:
            await idempotency.store_response(connection, claim, status, body)
        else:
            await idempotency.finish_for_object(connection, object_id, status, body)
    return row


async def _apply(
    connection: AsyncConnection, flow: Flow, row: Row, answer: NetworkAnswer, actor: str
) -> Row:
    approved = answer.outcome is Outcome.APPROVED
    source = MovementState(row["state"])
    target = next_state(source, MovementEvent.APPROVED if approved else MovementEvent.REFUSED)
    posted = await flow.settle_ledger(connection, row, approved)
    resolved = (
        (
            await connection.execute(
                update(flow.table)
                .where(flow.table.c.id == row["id"])
                .values(
                    state=target,
                    failure_code=None if approved else flow.failure_code(answer),
                    decline_code=None if approved else answer.decline_code,
                    network_record_id=answer.record_id,
                    resolved_by=actor,
                    updated_at=func.now(),
                    **posted,
                )
                .returning(*flow.table.c)
            )
        )
        .mappings()
        .one()
    )
    await connection.execute(
        transitions.insert().values(
            object_type=flow.name,
            object_id=row["id"],
            from_state=source,
            to_state=target,
            actor=actor,
        )
    )
    return resolved
