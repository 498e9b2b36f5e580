"""Idempotency keys in PostgreSQL: the claim phase, and the fenced writes of every later phase.

Fencing: a claim that proceeds writes a new `lock_version`, and every later write of that
request names the version it holds. Such a write that matches no row means the request was
taken over; it raises `Superseded`, which rolls its whole phase back (a phase that is one
statement writes nothing at all when its fenced part matches nothing).

The money paths run these on an asyncpg connection (payments.connections); the reaper, which
runs in the worker, uses SQLAlchemy.
"""

import datetime
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import asyncpg
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from system_under_test.payments.connections import Database, connected
from system_under_test.payments.idempotency.claim import (
    Claim,
    Fingerprint,
    InUse,
    Proceed,
    StoredKey,
    decide_claim,
)
from system_under_test.payments.idempotency.recovery_points import FINISHED, STARTED
from system_under_test.payments.sql import Statement, json_text, row_count
from system_under_test.schema import idempotency_keys

FIRST_LOCK_VERSION = 1
# Insert-or-find rounds of one claim; a key deleted twice in between is being churned, and the
# client is told to retry.
CLAIM_ATTEMPTS_MAX = 3


class Superseded(Exception):
    """The request's lock version is no longer the key's: another request took the key over."""


@dataclass(frozen=True)
class Advance:
    """The create phase's first write: its key moves from `source_point` to `target_point`
    with the new object, fenced by `lock_version` (and it holds the key's row lock)."""

    key_id: int
    lock_version: int
    source_point: str
    target_point: str


def advance_of(claim: Proceed, target_point: str) -> Advance:
    return Advance(claim.key_id, claim.lock_version, claim.recovery_point, target_point)


def _stored(row: Mapping[str, Any]) -> StoredKey:
    return StoredKey(
        id=row["id"],
        fingerprint=Fingerprint(
            row["request_method"], row["request_path"], dict(row["request_params"])
        ),
        recovery_point=row["recovery_point"],
        lock_version=row["lock_version"],
        locked_at=row["locked_at"],
        object_id=row["object_id"],
        response_code=row["response_code"],
        response_body=row["response_body"],
    )


def _insert(
    merchant_id: str, key: str, request: Fingerprint, now: datetime.datetime
) -> tuple[str, list[Any]]:
    statement = Statement()
    text = (
        "INSERT INTO idempotency_keys (merchant_id, key, request_method, request_path,"
        " request_params, recovery_point, lock_version, locked_at)"
        f" VALUES ({statement.param(merchant_id)}, {statement.param(key)},"
        f" {statement.param(request.method)}, {statement.param(request.path)},"
        f" {statement.json(dict(request.params))}, {statement.param(STARTED)},"
        f" {statement.param(FIRST_LOCK_VERSION)}, {statement.param(now)})"
        " ON CONFLICT (merchant_id, key) DO NOTHING RETURNING id"
    )
    return text, statement.values


LOCKED_KEY = """
SELECT id, request_method, request_path, request_params, recovery_point, lock_version,
       locked_at, object_id, response_code, response_body
FROM idempotency_keys WHERE merchant_id = $1 AND key = $2 FOR UPDATE
"""
TAKE_OVER = (
    "UPDATE idempotency_keys SET locked_at = $2, last_run_at = $2, lock_version = $3 WHERE id = $1"
)


async def claim_key(
    database: Database,
    *,
    merchant_id: str,
    key: str,
    kind: str,
    request: Fingerprint,
    lock_ttl: datetime.timedelta,
) -> Claim:
    """The first phase: insert and lock the key, or find it and decide (claim.decide_claim).

    A new key is one statement, its own transaction; a key that exists is locked, decided on
    and (when the request proceeds) taken in one transaction.
    """
    now = datetime.datetime.now(datetime.UTC)
    text, values = _insert(merchant_id, key, request, now)
    async with connected(database) as connection:
        inserted = await connection.fetchval(text, *values)
        if inserted is not None:
            return Proceed(inserted, STARTED, FIRST_LOCK_VERSION, None, took_over=False)
        async with connection.transaction():
            return await _claim_existing(connection, merchant_id, key, kind, request, now, lock_ttl)


async def _claim_existing(
    connection: asyncpg.Connection,
    merchant_id: str,
    key: str,
    kind: str,
    request: Fingerprint,
    now: datetime.datetime,
    lock_ttl: datetime.timedelta,
) -> Claim:
    # A key found by the insert can be deleted (a refusal, the reaper) before the select
    # locks it; the insert is then tried again, a bounded number of times.
    text, values = _insert(merchant_id, key, request, now)
    for _ in range(CLAIM_ATTEMPTS_MAX):
        row = await connection.fetchrow(LOCKED_KEY, merchant_id, key)
        if row is not None:
            break
        inserted = await connection.fetchval(text, *values)
        if inserted is not None:
            return Proceed(inserted, STARTED, FIRST_LOCK_VERSION, None, took_over=False)
    else:
        return InUse()
    claim = decide_claim(_stored(row), request, kind=kind, now=now, lock_ttl=lock_ttl)
    if isinstance(claim, Proceed):
        await connection.execute(TAKE_OVER, claim.key_id, now, claim.lock_version)
    return claim


def advance_sql(statement: Statement, advance: Advance, object_id: str) -> str:
    """The fenced advance as an UPDATE ... RETURNING id, to open a phase's statement with (it
    takes the key's row lock first); it returns no row when the request was superseded."""
    return (
        "UPDATE idempotency_keys SET"
        f" recovery_point = {statement.param(advance.target_point)},"
        f" object_id = {statement.param(object_id)}, last_run_at = now()"
        f" WHERE id = {statement.param(advance.key_id)}"
        f" AND lock_version = {statement.param(advance.lock_version)}"
        f" AND recovery_point = {statement.param(advance.source_point)} RETURNING id"
    )


async def advance(connection: asyncpg.Connection, advance: Advance, object_id: str) -> None:
    """The fenced advance as a statement of its own, first in the phase's transaction."""
    statement = Statement()
    text = advance_sql(statement, advance, object_id)
    if await connection.fetchval(text, *statement.values) is None:
        raise Superseded


STORE_RESPONSE = (
    "UPDATE idempotency_keys SET recovery_point = $3, response_code = $4,"
    " response_body = $5::jsonb, locked_at = NULL WHERE id = $1 AND lock_version = $2"
)


async def store_response(
    connection: asyncpg.Connection, claim: Proceed, status_code: int, body: Mapping[str, Any]
) -> None:
    """Finish the key with its final response and unlock it (fenced)."""
    values = [claim.key_id, claim.lock_version, FINISHED, status_code, json_text(body)]
    status = await connection.execute(STORE_RESPONSE, *values)
    if row_count(status) != 1:
        raise Superseded


FORGET = "DELETE FROM idempotency_keys WHERE id = $1 AND lock_version = $2"


async def forget(connection: asyncpg.Connection, claim: Proceed) -> None:
    """Delete a key whose request was refused before it wrote anything (not stored, as Stripe
    does not store validation failures): a retry with the key is a new request."""
    status = await connection.execute(FORGET, claim.key_id, claim.lock_version)
    if row_count(status) != 1:
        raise Superseded


RELEASE = "UPDATE idempotency_keys SET locked_at = NULL WHERE id = $1 AND lock_version = $2"


async def release(database: Database, claim: Proceed) -> None:
    """Unlock an unfinished key so that a retry can resume it from its recovery point."""
    async with connected(database) as connection:
        status = await connection.execute(RELEASE, claim.key_id, claim.lock_version)
    if row_count(status) != 1:
        raise Superseded


FINISH_FOR_OBJECT = (
    "UPDATE idempotency_keys SET recovery_point = $2, response_code = $3,"
    " response_body = $4::jsonb WHERE object_id = $1 AND recovery_point <> $2"
)


async def finish_for_object(
    connection: asyncpg.Connection, object_id: str, status_code: int, body: Mapping[str, Any]
) -> None:
    """Store the final response of the key that made `object_id`, if it is still unfinished.

    Used by recovery, which holds no lock version: the response is the same whoever stores
    it, since it is derived from the final object alone. The lock is left to its holder.
    """
    await connection.execute(FINISH_FOR_OBJECT, object_id, FINISHED, status_code, json_text(body))


async def reap_expired(
    engine: AsyncEngine, *, retention: datetime.timedelta, batch_max: int
) -> int:
    """Delete up to `batch_max` keys older than `retention`; returns how many went.

    A reaped key is forgotten: a request with it starts anew, as Stripe documents.
    """
    async with engine.begin() as connection:
        expired = (
            select(idempotency_keys.c.id)
            .where(
                idempotency_keys.c.created_at < func.now() - retention,
                idempotency_keys.c.recovery_point.in_((STARTED, FINISHED)),
            )
            .order_by(idempotency_keys.c.created_at)
            .limit(batch_max)
            .with_for_update(skip_locked=True)
        )
        result = await connection.execute(
            delete(idempotency_keys).where(idempotency_keys.c.id.in_(expired.scalar_subquery()))
        )
        return result.rowcount
