"""SQL for the database fault kinds, straight to a server (around the proxy), every call
bounded; a server that cannot answer right now gives None, for the caller's bounded retry."""

import json
from typing import Any

import asyncpg

from faults.transient import TRANSIENT_ERRORS

# One statement on a healthy server takes milliseconds; this only catches a hung one.
SQL_TIMEOUT_S = 5.0


async def fetch_value(dsn: str, query: str) -> Any:
    """The first column of the first row; raises on any error."""
    connection = await asyncpg.connect(dsn, timeout=SQL_TIMEOUT_S)
    try:
        return await connection.fetchval(query, timeout=SQL_TIMEOUT_S)
    finally:
        await connection.close()


async def value_or_none(dsn: str, query: str) -> Any:
    """`fetch_value`, or None when the server cannot answer right now."""
    try:
        return await fetch_value(dsn, query)
    except TRANSIENT_ERRORS:
        return None


async def replication_lag(primary_dsn: str, replica_dsn: str) -> dict[str, Any] | None:
    """How far the replica's replay is behind the primary, in WAL bytes and in seconds."""
    primary_lsn = await value_or_none(primary_dsn, "SELECT pg_current_wal_lsn()::text")
    if primary_lsn is None:
        return None
    behind = await value_or_none(
        replica_dsn,
        f"SELECT json_build_object('bytes', pg_wal_lsn_diff('{primary_lsn}', "
        "pg_last_wal_replay_lsn()), 'seconds', "
        "extract(epoch from now() - pg_last_xact_replay_timestamp()), "
        "'replay_paused', pg_is_wal_replay_paused())::text",
    )
    return None if behind is None else json.loads(behind)
