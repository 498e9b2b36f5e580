"""Connections to the primary and the replica: SQLAlchemy engines (schema, migrations, display
reads) and an asyncpg pool for the money paths, the API's and the worker's (prepared
statements, one round trip per phase where the phase is one statement).

No pre-ping on checkout: it cost a BEGIN/ROLLBACK round trip per checkout. A connection that
broke while idle fails the one statement that uses it; that request answers a retryable error,
and the broken connection is discarded (SQLAlchemy invalidates the pool on a disconnect, asyncpg
closes it), so the next checkout connects anew.
"""

import asyncio
import json

import asyncpg
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

# Bounds so that a partitioned database fails a request instead of hanging it.
CONNECT_TIMEOUT_S = 3
STATEMENT_TIMEOUT_MS = 5000
# SQLAlchemy's pool per engine: display reads.
POOL_SIZE = 10
# The money paths' pool per API process. A phase holds a connection for one statement (or a
# short transaction), so a few connections carry hundreds of requests per second; more only
# queue in PostgreSQL. With several API processes, each has its own pool: the sum stays well
# under max_connections (100) beside the engines' pools and the worker's.
MONEY_POOL_SIZE_MAX = 12
# Connections are made on first use, as the engines make theirs: a process that starts while
# the primary is unreachable starts all the same, and its requests fail until it is back.
MONEY_POOL_SIZE_MIN = 0
# How long closing the pool waits for connections still in use before it cuts them.
POOL_CLOSE_TIMEOUT_S = 2.0


def _server_settings(asynchronous_commit: bool) -> dict[str, str]:
    settings = {"statement_timeout": str(STATEMENT_TIMEOUT_MS)}
    if asynchronous_commit:
        settings["synchronous_commit"] = "off"
    return settings


def make_engine(dsn: str, *, asynchronous_commit: bool = False) -> AsyncEngine:
    """An engine whose connections time out on connect and per statement.

    `asynchronous_commit` (the ack-before-commit defect) makes COMMIT return before its WAL
    is flushed: a crash of the database can then lose a commit the API already answered for.
    """
    return create_async_engine(
        dsn,
        pool_size=POOL_SIZE,
        max_overflow=POOL_SIZE,
        pool_timeout=CONNECT_TIMEOUT_S,
        pool_pre_ping=False,
        connect_args={
            "timeout": CONNECT_TIMEOUT_S,
            "command_timeout": STATEMENT_TIMEOUT_MS / 1000,
            "server_settings": _server_settings(asynchronous_commit),
        },
    )


def _jsonb_encoder(text: str) -> bytes:
    # JSONB's binary format: a version byte, then the JSON text.
    return b"\x01" + text.encode()


def _jsonb_decoder(data: bytes) -> object:
    return json.loads(data[1:].decode())


async def _set_codecs(connection: asyncpg.Connection) -> None:
    # JSONB in as JSON text, out as Python objects: exactly as SQLAlchemy's asyncpg dialect
    # sets up its own connections, so that the money paths' statements run unchanged on
    # either pool (payments.connections).
    await connection.set_type_codec(
        "jsonb",
        encoder=_jsonb_encoder,
        decoder=_jsonb_decoder,
        schema="pg_catalog",
        format="binary",
    )


async def _keep_session(connection: asyncpg.Connection) -> None:
    # asyncpg rolls back an open transaction before it calls this; the money paths set no
    # session state, so the default reset (RESET ALL, UNLISTEN, ...: a round trip on every
    # release) has nothing to undo.
    return None


async def make_pool(dsn: str, *, asynchronous_commit: bool = False) -> asyncpg.Pool:
    """The asyncpg pool of the money paths, with the engines' bounds and settings.

    `dsn` may carry SQLAlchemy's `+asyncpg` driver suffix; asyncpg takes it without.
    """
    return await asyncpg.create_pool(
        dsn.replace("postgresql+asyncpg://", "postgresql://", 1),
        min_size=MONEY_POOL_SIZE_MIN,
        max_size=MONEY_POOL_SIZE_MAX,
        init=_set_codecs,
        reset=_keep_session,
        timeout=CONNECT_TIMEOUT_S,
        command_timeout=STATEMENT_TIMEOUT_MS / 1000,
        server_settings=_server_settings(asynchronous_commit),
    )


async def close_pool(pool: asyncpg.Pool) -> None:
    """Close the pool, cutting connections that are still in use after POOL_CLOSE_TIMEOUT_S."""
    try:
        await asyncio.wait_for(pool.close(), POOL_CLOSE_TIMEOUT_S)
    except TimeoutError:
        pool.terminate()
