"""The first atomic phase of an idempotent request: claim the key, or say why not."""

import datetime
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from system_under_test.payments.charges.phases import (
    RECOVERY_POINT_FINISHED,
    RECOVERY_POINT_STARTED,
)
from system_under_test.schema import idempotency_keys

# A lock older than this belongs to a request that died; a retry may take the key over.
# Longer than the longest request (three network timeouts plus database work).
LOCK_TTL = datetime.timedelta(seconds=15)


@dataclass(frozen=True)
class Proceed:
    key_id: int
    recovery_point: str
    charge_id: str | None


@dataclass(frozen=True)
class Replay:
    status_code: int
    body: Mapping[str, Any]


@dataclass(frozen=True)
class ParametersMismatch:
    pass


@dataclass(frozen=True)
class InUse:
    pass


Claim = Proceed | Replay | ParametersMismatch | InUse


async def claim_key(
    engine: AsyncEngine,
    *,
    merchant_id: str,
    key: str,
    method: str,
    path: str,
    params: Mapping[str, str],
) -> Claim:
    """Insert and lock the key, or find it and decide: replay, mismatch, in use, or resume."""
    async with engine.begin() as connection:
        inserted = await connection.scalar(
            insert(idempotency_keys)
            .values(
                merchant_id=merchant_id,
                key=key,
                request_method=method,
                request_path=path,
                request_params=dict(params),
                recovery_point=RECOVERY_POINT_STARTED,
                locked_at=datetime.datetime.now(datetime.UTC),
            )
            .on_conflict_do_nothing(index_elements=["merchant_id", "key"])
            .returning(idempotency_keys.c.id)
        )
        if inserted is not None:
            return Proceed(inserted, RECOVERY_POINT_STARTED, None)
        row = (
            (
                await connection.execute(
                    select(idempotency_keys)
                    .where(
                        idempotency_keys.c.merchant_id == merchant_id, idempotency_keys.c.key == key
                    )
                    .with_for_update()
                )
            )
            .mappings()
            .one()
        )
        if (row["request_method"], row["request_path"], row["request_params"]) != (
            method,
            path,
            dict(params),
        ):
            return ParametersMismatch()
        if row["response_code"] is not None:
            return Replay(row["response_code"], row["response_body"])
        now = datetime.datetime.now(datetime.UTC)
        if row["locked_at"] is not None and now - row["locked_at"] < LOCK_TTL:
            return InUse()
        await connection.execute(
            update(idempotency_keys)
            .where(idempotency_keys.c.id == row["id"])
            .values(locked_at=now, last_run_at=now)
        )
        return Proceed(row["id"], row["recovery_point"], row["charge_id"])


async def release_key(engine: AsyncEngine, key_id: int) -> None:
    """Unlock an unfinished key so that a retry can resume it from its recovery point."""
    async with engine.begin() as connection:
        await connection.execute(
            update(idempotency_keys).where(idempotency_keys.c.id == key_id).values(locked_at=None)
        )


async def finish_key(
    engine: AsyncEngine, key_id: int, status_code: int, body: Mapping[str, Any]
) -> None:
    """Store the final response of a key whose charge was resolved without it."""
    async with engine.begin() as connection:
        await connection.execute(
            update(idempotency_keys)
            .where(idempotency_keys.c.id == key_id)
            .values(
                recovery_point=RECOVERY_POINT_FINISHED,
                response_code=status_code,
                response_body=dict(body),
                locked_at=None,
            )
        )
