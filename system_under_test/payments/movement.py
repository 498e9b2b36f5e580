"""The resolve phase, the same for charges, refunds and payouts (payments.flow): apply the
network's definitive answer to a PROCESSING object, by the API after its send or by the
worker's recovery after a look-up, through the same statements.

The resolve phase is one statement (its own transaction): it locks the key, then the object,
then the accounts in id order, applies the answer, posts the ledger and stores the key's final
response, or, when the key was taken over or the object is final already, writes nothing.
The accounts are the hottest rows of the system; one statement holds them for the time it
takes to run and commit, never across a round trip to the API. Its statements are compiled
once, one per flow, outcome and fencing (`RESOLVE`).
"""

from dataclasses import dataclass
from typing import Any

import asyncpg
from sqlalchemy import (
    CTE,
    Text,
    bindparam,
    exists,
    func,
    insert,
    literal,
    select,
    true,
    update,
)

from system_under_test.network_client import DEFINITIVE_OUTCOMES, NetworkAnswer, Outcome
from system_under_test.payments import idempotency, ledger
from system_under_test.payments.connections import Database, connected
from system_under_test.payments.flow import Flow, Row, Settlement
from system_under_test.payments.flows import FLOWS
from system_under_test.payments.processing import PROCESSING
from system_under_test.payments.sql import Named, compiled, json_text
from system_under_test.payments.states import (
    FINAL_STATES,
    MovementEvent,
    MovementState,
    next_state,
)
from system_under_test.schema import charges, idempotency_keys, transitions

# The object by id, per flow.
READ = {
    name: compiled(select(flow.table).where(flow.table.c.id == bindparam("object_id")))
    for name, flow in FLOWS.items()
}


async def read_object(database: Database, flow: Flow, object_id: str) -> Row | None:
    """The object's row on the primary, or None."""
    async with connected(database) as connection:
        return await _read(connection, flow, object_id)


async def _read(connection: asyncpg.Connection, flow: Flow, object_id: str) -> Row | None:
    row = await READ[flow.name].fetchrow(connection, object_id=object_id)
    return None if row is None else dict(row)


def _resolved_columns(settlement: Settlement) -> list[str]:
    """The columns a resolution sets (besides updated_at), each from a parameter `new_<name>`."""
    columns = ["state", "failure_code", "decline_code", "network_record_id", "resolved_by"]
    if settlement.transaction_column is not None:
        columns.append(settlement.transaction_column)
    return columns


def _key_and_moved(flow: Flow, settlement: Settlement, fenced: bool) -> tuple[CTE, CTE]:
    """CTEs `key` (the key the final response goes to, locked first) and `moved` (the object
    moved from PROCESSING to its final state, RETURNING every column; nothing when a fenced
    key was taken over)."""
    table = flow.table
    key = (
        select(idempotency_keys.c.id)
        .where(idempotency.finishing_key(fenced))
        .with_for_update()
        .cte("key")
    )
    # Recovery goes on without a key (a request without Idempotency-Key has none), but locks
    # one first all the same, and leaves its lock to its holder.
    gate = (
        exists(select(1).select_from(key))
        if fenced
        else select(func.count()).select_from(key).scalar_subquery() >= 0
    )
    columns = _resolved_columns(settlement)
    moved = (
        update(table)
        .where(table.c.id == bindparam("object_id"), table.c.state == str(PROCESSING), gate)
        .values(
            {name: bindparam(f"new_{name}", type_=table.c[name].type) for name in columns}
            | {"updated_at": func.now()}
        )
        .returning(*table.c)
        .cte("moved")
    )
    return key, moved


def _resolving(flow: Flow, approved: bool, fenced: bool) -> Named:
    """The resolve statement of `flow` for an answer that `approved` or not; `fenced` by the
    request's lock version (the API), or not (recovery, which holds none)."""
    settlement = flow.settlement(approved)
    key, moved = _key_and_moved(flow, settlement, fenced)
    ctes: list[CTE] = []
    last_locked = moved
    if settlement.gives_back_charge:
        last_locked = (
            update(charges)
            .where(charges.c.id == moved.c.charge_id)
            .values(amount_refunded=charges.c.amount_refunded - moved.c.amount)
            .returning(charges.c.id)
            .cte("given_back")
        )
        ctes.append(last_locked)
    if settlement.posting is not None:
        condition = exists(select(1).select_from(last_locked))
        ctes += ledger.posting(settlement.posting, condition, drawn_id=True)
    stepped = insert(transitions).from_select(
        ["object_type", "object_id", "from_state", "to_state", "actor"],
        select(
            literal(flow.name, Text),
            moved.c.id,
            literal(str(PROCESSING), Text),
            moved.c.state,
            moved.c.resolved_by,
        ),
    )
    finished = (
        update(idempotency_keys)
        .where(idempotency_keys.c.id.in_(select(key.c.id)), moved.c.id.is_not(None))
        .values(idempotency.finishing_values(fenced))
    )
    ctes += [stepped.cte("stepped"), finished.cte("finished")]
    one = select(literal(1)).subquery("one")
    final = select(
        select(func.count()).select_from(key).scalar_subquery().label("keys_locked"), moved
    ).select_from(one.outerjoin(moved, true()))
    return compiled(final.add_cte(*ctes))


# Per flow, whether the network approved, and whether the write is fenced.
RESOLVE = {
    (name, approved, fenced): _resolving(flow, approved, fenced)
    for name, flow in FLOWS.items()
    for approved in (True, False)
    for fenced in (True, False)
}


@dataclass(frozen=True)
class _Resolution:
    """A definitive answer applied to a PROCESSING row, worked out before the statement."""

    target: MovementState
    values: dict[str, Any]
    settlement: Settlement
    # The row as it will be once resolved (but for updated_at), and its answer.
    predicted: dict[str, Any]
    status_code: int
    body: dict[str, Any]


def _resolution(
    flow: Flow,
    row: Row,
    answer: NetworkAnswer,
    actor: str,
    transaction_id: int | None,
) -> _Resolution:
    approved = answer.outcome is Outcome.APPROVED
    source = MovementState(row["state"])
    target = next_state(source, MovementEvent.APPROVED if approved else MovementEvent.REFUSED)
    settlement = flow.settlement(approved)
    values: dict[str, Any] = {
        "state": str(target),
        "failure_code": None if approved else flow.failure_code(answer),
        "decline_code": None if approved else answer.decline_code,
        "network_record_id": answer.record_id,
        "resolved_by": actor,
    }
    if settlement.transaction_column is not None:
        values[settlement.transaction_column] = transaction_id
    predicted = {**row, **values}
    status_code, body = flow.final_response(predicted)
    return _Resolution(target, values, settlement, predicted, status_code, body)


async def resolve(
    database: Database,
    flow: Flow,
    object_id: str,
    answer: NetworkAnswer,
    *,
    actor: str,
    claim: idempotency.Proceed | None,
    processing_row: Row | None = None,
    transaction_id: int | None = None,
) -> Row:
    """The resolve phase: apply a definitive network answer to a PROCESSING object, post its
    ledger entries and store its key's final response, in one transaction.

    A no-op on the object when it is final already. With a `claim`, the key's write is fenced:
    a superseded request raises idempotency.Superseded and changes nothing. Without one
    (recovery), the key is finished only if still unfinished. `processing_row` and
    `transaction_id` (the posting's id, drawn by the create phase) save a read and a round
    trip when the caller has them. Returns the row as committed.
    """
    assert answer.outcome in DEFINITIVE_OUTCOMES, f"not definitive: {answer}"
    async with connected(database) as connection:
        row = (
            processing_row
            if processing_row is not None
            else await _read(connection, flow, object_id)
        )
        assert row is not None, f"{flow.name} {object_id} does not exist"
        if MovementState(row["state"]) is MovementState.PROCESSING:
            resolved = await _resolve_processing(
                connection, flow, row, answer, actor, claim, transaction_id
            )
            if resolved is not None:
                return resolved
        # Final already (recovery or a takeover got there first): answer from the object.
        return await _finish_from_final(connection, flow, object_id, claim)


async def _resolve_processing(
    connection: asyncpg.Connection,
    flow: Flow,
    row: Row,
    answer: NetworkAnswer,
    actor: str,
    claim: idempotency.Proceed | None,
    transaction_id: int | None,
) -> Row | None:
    """The one statement; None when the object was no longer PROCESSING (nothing written)."""
    approved = answer.outcome is Outcome.APPROVED
    settlement = flow.settlement(approved)
    values: dict[str, Any] = {"object_id": row["id"]}
    if settlement.posting is not None:
        if transaction_id is None:
            transaction_id = await ledger.next_transaction_id(connection)
        deltas = await ledger.deltas(
            connection,
            settlement.posting,
            merchant_id=row["merchant_id"],
            currency=row["currency"],
            amount=row["amount"],
        )
        values |= ledger.posting_arguments(deltas) | {"transaction_id": transaction_id}
    resolution = _resolution(flow, row, answer, actor, transaction_id)
    values |= {f"new_{name}": value for name, value in resolution.values.items()}
    values |= {"response_code": resolution.status_code, "response_body": json_text(resolution.body)}
    if claim is not None:
        values |= {"key_id": claim.key_id, "lock_version": claim.lock_version}
    statement = RESOLVE[flow.name, approved, claim is not None]
    result = dict(await statement.fetchrow(connection, **values))
    keys_locked = result.pop("keys_locked")
    if claim is not None and keys_locked == 0:
        raise idempotency.Superseded
    if result["id"] is None:
        return None
    # The answer was stored before the statement returned the row: both must agree.
    assert flow.final_response(result) == (resolution.status_code, resolution.body), (
        f"{flow.name} {row['id']}: the stored answer differs from the committed row's"
    )
    return result


async def _finish_from_final(
    connection: asyncpg.Connection,
    flow: Flow,
    object_id: str,
    claim: idempotency.Proceed | None,
) -> Row:
    """Store the answer of an object that is final already with its key; returns the row."""
    async with connection.transaction():
        row = await _read(connection, flow, object_id)
        assert row is not None and MovementState(row["state"]) in FINAL_STATES, (
            f"{flow.name} {object_id} is neither PROCESSING nor final"
        )
        status, body = flow.final_response(row)
        await idempotency.store_final(connection, claim, object_id, status, body)
    return row
