"""The object's creation in PROCESSING, its transitions and the resolve phase that applies the
network's definitive answer: the same code for charges, refunds and payouts (payments.flow).

The resolve phase is one statement (its own transaction): it locks the key, then the object,
then the accounts in id order, applies the answer, posts the ledger and stores the key's final
response, or, when the key was taken over or the object is final already, writes nothing.
The accounts are the hottest rows of the system; one statement holds them for the time it
takes to run and commit, never across a round trip to the API.
"""

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import asyncpg
from sqlalchemy import Table
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import JSONB

from system_under_test.network_client import (
    DEFINITIVE_OUTCOMES,
    NetworkAnswer,
    Outcome,
)
from system_under_test.payments import idempotency, ledger
from system_under_test.payments.connections import Database, connected
from system_under_test.payments.flow import Flow, Row, Settlement
from system_under_test.payments.idempotency.recovery_points import FINISHED
from system_under_test.payments.sql import Statement
from system_under_test.payments.states import (
    FINAL_STATES,
    MovementEvent,
    MovementState,
    next_state,
)

_DIALECT = postgresql.dialect()


def with_ctes(ctes: list[tuple[str, str]], final: str) -> str:
    """One statement: `WITH name AS (...), ... final`.

    >>> with_ctes([("a", "SELECT 1"), ("b", "SELECT 2")], "SELECT * FROM a, b")
    'WITH a AS (SELECT 1), b AS (SELECT 2) SELECT * FROM a, b'
    """
    return "WITH " + ", ".join(f"{name} AS ({sql})" for name, sql in ctes) + " " + final


def insert_processing_ctes(
    statement: Statement,
    flow: Flow,
    values: Mapping[str, Any],
    *,
    actor: str,
    source: str | None,
) -> list[tuple[str, str]]:
    """CTEs `created` (the object inserted PROCESSING, RETURNING every column) and `stepped`
    (both steps from PENDING recorded). With `source`, the object is inserted once per row of
    that CTE (none when it has none), and a value may be SQL over it, given as `SqlValue`."""
    processing = next_state(MovementState.PENDING, MovementEvent.START_PROCESSING)
    columns = [*values, "state"]
    cells = [_cell(statement, flow.table, name, value) for name, value in values.items()]
    cells.append(statement.param(str(processing)))
    selected = f"SELECT {', '.join(cells)}" + (f" FROM {source}" if source else "")
    steps = [(None, MovementState.PENDING), (MovementState.PENDING, processing)]
    sources = statement.param([None if step is None else str(step) for step, _ in steps], "text[]")
    targets = statement.param([str(target) for _, target in steps], "text[]")
    return [
        (
            "created",
            f"INSERT INTO {flow.table.name} ({', '.join(columns)}) {selected} RETURNING *",
        ),
        (
            "stepped",
            "INSERT INTO transitions (object_type, object_id, from_state, to_state, actor)"
            f" SELECT {statement.param(flow.name, 'text')}, created.id, s.source, s.target,"
            f" {statement.param(actor, 'text')} FROM created,"
            f" unnest({sources}, {targets}) WITH ORDINALITY AS s(source, target, n)"
            " ORDER BY s.n",
        ),
    ]


@dataclass(frozen=True)
class SqlValue:
    """A column's value given as SQL over the insert's source (e.g. `seen.balance`)."""

    sql: str


def _cell(statement: Statement, table: Table, name: str, value: Any) -> str:
    if isinstance(value, SqlValue):
        return value.sql
    column = table.c[name]
    if isinstance(column.type, JSONB):
        return statement.json(value)
    # Typed as its column: in INSERT ... SELECT a bare parameter would be taken as text.
    return statement.param(value, column_type(table, name))


@functools.cache
def column_type(table: Table, name: str) -> str:
    """The PostgreSQL type of a column, as the schema declares it.

    >>> from system_under_test.schema import charges
    >>> column_type(charges, "amount"), column_type(charges, "deadline")
    ('BIGINT', 'TIMESTAMP WITH TIME ZONE')
    """
    return table.c[name].type.compile(dialect=_DIALECT)


POSTING_ID_SQL = "nextval(pg_get_serial_sequence('ledger_transactions', 'id')) AS posting_id"


async def read_object(database: Database, flow: Flow, object_id: str) -> Row | None:
    """The object's row on the primary, or None."""
    async with connected(database) as connection:
        return await _read(connection, flow, object_id)


async def _read(connection: asyncpg.Connection, flow: Flow, object_id: str) -> Row | None:
    row = await connection.fetchrow(f"SELECT * FROM {flow.table.name} WHERE id = $1", object_id)
    return None if row is None else dict(row)


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
    settlement = flow.settlement(answer.outcome is Outcome.APPROVED)
    if settlement.posting is not None and transaction_id is None:
        transaction_id = await ledger.next_transaction_id(connection)
    resolution = _resolution(flow, row, answer, actor, transaction_id)
    deltas = None
    if settlement.posting is not None:
        deltas = await ledger.deltas(
            connection,
            settlement.posting,
            merchant_id=row["merchant_id"],
            currency=row["currency"],
            amount=row["amount"],
        )
    statement = Statement()
    text = _resolve_sql(statement, flow, row["id"], resolution, claim, deltas, transaction_id)
    result = dict(await connection.fetchrow(text, *statement.values))
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


def _resolve_sql(
    statement: Statement,
    flow: Flow,
    object_id: str,
    resolution: _Resolution,
    claim: idempotency.Proceed | None,
    deltas: dict[int, int] | None,
    transaction_id: int | None,
) -> str:
    table = flow.table.name
    object_param = statement.param(object_id)
    if claim is not None:
        key = (
            f"SELECT id FROM idempotency_keys WHERE id = {statement.param(claim.key_id)}"
            f" AND lock_version = {statement.param(claim.lock_version)} FOR UPDATE"
        )
        gate = "EXISTS (SELECT 1 FROM key)"
        unlock = ", locked_at = NULL"
    else:
        # Recovery holds no lock version; the key is locked first all the same (if there is
        # one: a request without Idempotency-Key has none), and its lock is left to its holder.
        key = (
            f"SELECT id FROM idempotency_keys WHERE object_id = {object_param}"
            f" AND recovery_point <> {statement.param(FINISHED)} FOR UPDATE"
        )
        gate = "(SELECT count(*) FROM key) >= 0"
        unlock = ""
    assignments = ", ".join(
        f"{name} = {statement.param(value, column_type(flow.table, name))}"
        for name, value in resolution.values.items()
    )
    processing = statement.param(str(MovementState.PROCESSING), "text")
    ctes = [
        ("key", key),
        (
            "moved",
            f"UPDATE {table} SET {assignments}, updated_at = now()"
            f" WHERE id = {object_param} AND state = {processing} AND {gate} RETURNING *",
        ),
    ]
    last_locked = "moved"
    if resolution.settlement.gives_back_charge:
        ctes.append(
            (
                "given_back",
                "UPDATE charges SET amount_refunded = charges.amount_refunded - moved.amount"
                " FROM moved WHERE charges.id = moved.charge_id RETURNING charges.id",
            )
        )
        last_locked = "given_back"
    if resolution.settlement.posting is not None:
        assert deltas is not None and transaction_id is not None
        ctes += ledger.post_ctes(
            statement,
            kind=resolution.settlement.posting,
            object_id=object_id,
            deltas=deltas,
            condition=f"EXISTS (SELECT 1 FROM {last_locked})",
            transaction_id=transaction_id,
        )
    ctes += [
        (
            "stepped",
            "INSERT INTO transitions (object_type, object_id, from_state, to_state, actor)"
            f" SELECT {statement.param(flow.name, 'text')}, moved.id, {processing}, moved.state,"
            " moved.resolved_by FROM moved",
        ),
        (
            "finished",
            f"UPDATE idempotency_keys SET recovery_point = {statement.param(FINISHED)},"
            f" response_code = {statement.param(resolution.status_code)},"
            f" response_body = {statement.json(resolution.body)}{unlock}"
            " FROM moved WHERE idempotency_keys.id IN (SELECT id FROM key)",
        ),
    ]
    return with_ctes(
        ctes,
        "SELECT (SELECT count(*) FROM key) AS keys_locked, moved.*"
        " FROM (SELECT 1) AS one LEFT JOIN moved ON true",
    )


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
        if claim is not None:
            await idempotency.store_response(connection, claim, status, body)
        else:
            await idempotency.finish_for_object(connection, object_id, status, body)
    return row
