"""Idempotency keys in PostgreSQL: the claim phase, and the fenced writes of every later phase.

Fencing: a claim that proceeds writes a new `lock_version`, and every later write of that
request names the version it holds. Such a write that matches no row means the request was
taken over; it raises `Superseded`, which rolls its whole phase back.
"""

import datetime
from collections.abc import Mapping
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from system_under_test.payments.idempotency.claim import (
    Claim,
    Fingerprint,
    InUse,
    Proceed,
    StoredKey,
    decide_claim,
)
from system_under_test.payments.idempotency.recovery_points import FINISHED, STARTED
from system_under_test.schema import idempotency_keys

FIRST_LOCK_VERSION = 1
# Insert-or-find rounds of one claim; a key deleted twice in between is being churned, and the
# client is told to retry.
CLAIM_ATTEMPTS_MAX = 3


class Superseded(Exception):
    """The request's lock version is no longer the key's: another request took the key over."""


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


async def claim_key(
    engine: AsyncEngine,
    *,
    merchant_id: str,
    key: str,
    kind: str,
    request: Fingerprint,
    lock_ttl: datetime.timedelta,
) -> Claim:
    """The first phase: insert and lock the key, or find it and decide (claim.decide_claim)."""
    now = datetime.datetime.now(datetime.UTC)
    async with engine.begin() as connection:
        # A key found by the insert can be deleted (a refusal, the reaper) before the select
        # locks it; the insert is then tried again, a bounded number of times.
        for _ in range(CLAIM_ATTEMPTS_MAX):
            inserted = await _insert(connection, merchant_id, key, request, now)
            if inserted is not None:
                return Proceed(inserted, STARTED, FIRST_LOCK_VERSION, None, took_over=False)
            row = await _locked(connection, merchant_id, key)
            if row is not None:
                break
        else:
            return InUse()
        claim = decide_claim(_stored(row), request, kind=kind, now=now, lock_ttl=lock_ttl)
        if isinstance(claim, Proceed):
            await connection.execute(
                update(idempotency_keys)
                .where(idempotency_keys.c.id == claim.key_id)
                .values(locked_at=now, last_run_at=now, lock_version=claim.lock_version)
            )
        return claim


async def _insert(
    connection: AsyncConnection,
    merchant_id: str,
    key: str,
    request: Fingerprint,
    now: datetime.datetime,
) -> int | None:
    return await connection.scalar(
        insert(idempotency_keys)
        .values(
            merchant_id=merchant_id,
            key=key,
            request_method=request.method,
            request_path=request.path,
            request_params=dict(request.params),
            recovery_point=STARTED,
            lock_version=FIRST_LOCK_VERSION,
            locked_at=now,
        )
        .on_conflict_do_nothing(index_elements=["merchant_id", "key"])
        .returning(idempotency_keys.c.id)
    )


async def _locked(
    connection: AsyncConnection, merchant_id: str, key: str
) -> Mapping[str, Any] | None:
    return (
        (
            await connection.execute(
                select(idempotency_keys)
                .where(idempotency_keys.c.merchant_id == merchant_id, idempotency_keys.c.key == key)
                .with_for_update()
            )
        )
        .mappings()
        .first()
    )


def _fenced(claim: Proceed):
    return update(idempotency_keys).where(
        idempotency_keys.c.id == claim.key_id,
        idempotency_keys.c.lock_version == claim.lock_version,
    )


async def _require_current(connection: AsyncConnection, statement) -> None:
    result = await connection.execute(statement)
    if result.rowcount != 1:
        raise Superseded


async def advance(
    connection: AsyncConnection, claim: Proceed, recovery_point: str, object_id: str
) -> None:
    """Move the key to `recovery_point` with its object, inside the phase's transaction.

    Run first in the phase: it also holds the key's row lock until the phase commits, so a
    takeover waits for the phase and then resumes from the new point.
    """
    await _require_current(
        connection,
        _fenced(claim)
        .where(idempotency_keys.c.recovery_point == claim.recovery_point)
        .values(recovery_point=recovery_point, object_id=object_id, last_run_at=func.now()),
    )


async def store_response(
    connection: AsyncConnection, claim: Proceed, status_code: int, body: Mapping[str, Any]
) -> None:
    """Finish the key with its final response and unlock it, inside the phase's transaction."""
    await _require_current(
        connection,
        _fenced(claim).values(
            recovery_point=FINISHED,
            response_code=status_code,
            response_body=dict(body),
            locked_at=None,
        ),
    )


async def forget(connection: AsyncConnection, claim: Proceed) -> None:
    """Delete a key whose request was refused before it wrote anything (not stored, as Stripe
    does not store validation failures): a retry with the key is a new request."""
    result = await connection.execute(
        delete(idempotency_keys).where(
            idempotency_keys.c.id == claim.key_id,
            idempotency_keys.c.lock_version == claim.lock_version,
        )
    )
    if result.rowcount != 1:
        raise Superseded


async def release(engine: AsyncEngine, claim: Proceed) -> None:
    """Unlock an unfinished key so that a retry can resume it from its recovery point."""
    async with engine.begin() as connection:
        await _require_current(connection, _fenced(claim).values(locked_at=None))


async def finish_for_object(
    connection: AsyncConnection, object_id: str, status_code: int, body: Mapping[str, Any]
) -> None:
    """Store the final response of the key that made `object_id`, if it is still unfinished.

    Used by recovery, which holds no lock version: the response is the same whoever stores
    it, since it is derived from the final object alone. The lock is left to its holder.
    """
    await connection.execute(
        update(idempotency_keys)
        .where(
            idempotency_keys.c.object_id == object_id,
            idempotency_keys.c.recovery_point != FINISHED,
        )
        .values(recovery_point=FINISHED, response_code=status_code, response_body=dict(body))
    )


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
