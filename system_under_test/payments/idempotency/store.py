"""Idempotency keys in PostgreSQL: the claim phase, and the fenced writes of every later phase.

Fencing: a claim that proceeds writes a new `lock_version`, and every later write of that
request names the version it holds. Such a write that matches no row means the request was
taken over; it raises `Superseded`, which rolls its whole phase back (a phase that is one
statement writes nothing at all when its fenced part matches nothing).

Every statement is a named constant (payments.sql), run on an asyncpg connection
(payments.connections), the worker's reaper included.
"""

import datetime
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import asyncpg
from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Integer,
    Interval,
    and_,
    bindparam,
    delete,
    func,
    null,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB

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
from system_under_test.payments.sql import compiled, json_text, row_count
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


INSERT_KEY = """
INSERT INTO idempotency_keys (merchant_id, key, request_method, request_path, request_params,
                              recovery_point, lock_version, locked_at)
VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7, $8)
ON CONFLICT (merchant_id, key) DO NOTHING RETURNING id
"""


def _insert_arguments(
    merchant_id: str, key: str, request: Fingerprint, now: datetime.datetime
) -> list[Any]:
    params = json_text(dict(request.params))
    return [
        merchant_id,
        key,
        request.method,
        request.path,
        params,
        STARTED,
        FIRST_LOCK_VERSION,
        now,
    ]


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
    arguments = _insert_arguments(merchant_id, key, request, now)
    async with connected(database) as connection:
        inserted = await connection.fetchval(INSERT_KEY, *arguments)
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
    arguments = _insert_arguments(merchant_id, key, request, now)
    for _ in range(CLAIM_ATTEMPTS_MAX):
        row = await connection.fetchrow(LOCKED_KEY, merchant_id, key)
        if row is not None:
            break
        inserted = await connection.fetchval(INSERT_KEY, *arguments)
        if inserted is not None:
            return Proceed(inserted, STARTED, FIRST_LOCK_VERSION, None, took_over=False)
    else:
        return InUse()
    claim = decide_claim(_stored(row), request, kind=kind, now=now, lock_ttl=lock_ttl)
    if isinstance(claim, Proceed):
        await connection.execute(TAKE_OVER, claim.key_id, now, claim.lock_version)
    return claim


# The create phase's first write: the key moves to the processing point with its new object,
# fenced by the lock version; no row when the request was superseded. A statement of its own,
# or the first CTE of a create phase that is one statement (it takes the key's row lock first).
ADVANCING = (
    update(idempotency_keys)
    .where(
        idempotency_keys.c.id == bindparam("key_id"),
        idempotency_keys.c.lock_version == bindparam("lock_version"),
        idempotency_keys.c.recovery_point == bindparam("source_point"),
    )
    .values(
        recovery_point=bindparam("target_point"),
        object_id=bindparam("object_id"),
        last_run_at=func.now(),
    )
    .returning(idempotency_keys.c.id)
)
ADVANCE = compiled(ADVANCING)


def advance_arguments(advance: Advance, object_id: str) -> dict[str, Any]:
    """The parameters of ADVANCING."""
    return {
        "key_id": advance.key_id,
        "lock_version": advance.lock_version,
        "source_point": advance.source_point,
        "target_point": advance.target_point,
        "object_id": object_id,
    }


async def advance(connection: asyncpg.Connection, advance: Advance, object_id: str) -> None:
    """The fenced advance as a statement of its own, first in the phase's transaction."""
    if await ADVANCE.fetchval(connection, **advance_arguments(advance, object_id)) is None:
        raise Superseded


def finishing_key(fenced: bool) -> ColumnElement[bool]:
    """The key a final response goes to: with `fenced`, the request's own (`key_id`), if its
    `lock_version` is still current; otherwise (recovery, which holds no lock version) the
    unfinished key that made `object_id`, if there is one."""
    if fenced:
        return and_(
            idempotency_keys.c.id == bindparam("key_id"),
            idempotency_keys.c.lock_version == bindparam("lock_version"),
        )
    return and_(
        idempotency_keys.c.object_id == bindparam("object_id"),
        idempotency_keys.c.recovery_point != FINISHED,
    )


def finishing_values(fenced: bool) -> dict[str, Any]:
    """The key finished with `response_code` and `response_body`; with `fenced`, unlocked too
    (recovery leaves the lock to its holder)."""
    values: dict[str, Any] = {
        "recovery_point": FINISHED,
        "response_code": bindparam("response_code", type_=Integer),
        "response_body": bindparam("response_body", type_=JSONB),
    }
    if fenced:
        values["locked_at"] = null()
    return values


# By whether the request holds a lock version.
FINISH = {
    fenced: compiled(
        update(idempotency_keys).where(finishing_key(fenced)).values(finishing_values(fenced))
    )
    for fenced in (True, False)
}


async def store_final(
    connection: asyncpg.Connection,
    claim: Proceed | None,
    object_id: str,
    status_code: int,
    body: Mapping[str, Any],
) -> None:
    """Finish the key of `object_id` with its final response: the claim's own key, fenced and
    unlocked (Superseded when it was taken over), or without a claim (recovery) the key that
    made the object, if still unfinished. The response is the same whoever stores it, since
    it is derived from the final object alone."""
    fence = {"object_id": object_id}
    if claim is not None:
        fence = {"key_id": claim.key_id, "lock_version": claim.lock_version}
    status = await FINISH[claim is not None].execute(
        connection, **fence, response_code=status_code, response_body=json_text(body)
    )
    if claim is not None and row_count(status) != 1:
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


# Keys past their retention whose movement cannot be in flight, oldest first; a key locked by
# a request is skipped, not waited for.
REAP = compiled(
    delete(idempotency_keys).where(
        idempotency_keys.c.id.in_(
            select(idempotency_keys.c.id)
            .where(
                idempotency_keys.c.created_at < func.now() - bindparam("retention", type_=Interval),
                or_(
                    idempotency_keys.c.recovery_point == STARTED,
                    idempotency_keys.c.recovery_point == FINISHED,
                ),
            )
            .order_by(idempotency_keys.c.created_at)
            .limit(bindparam("batch_max", type_=BigInteger))
            .with_for_update(skip_locked=True)
            .scalar_subquery()
        )
    )
)


async def reap_expired(database: Database, *, retention: datetime.timedelta, batch_max: int) -> int:
    """Delete up to `batch_max` keys older than `retention`; returns how many went.

    A reaped key is forgotten: a request with it starts anew, as Stripe documents.
    """
    async with connected(database) as connection:
        return row_count(await REAP.execute(connection, retention=retention, batch_max=batch_max))
