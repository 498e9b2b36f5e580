"""Async SQLAlchemy engines for the primary and the replica."""

from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

# Bounds so that a partitioned database fails a request instead of hanging it.
CONNECT_TIMEOUT_S = 3
STATEMENT_TIMEOUT_MS = 5000
POOL_SIZE = 10


def make_engine(dsn: str, *, asynchronous_commit: bool = False) -> AsyncEngine:
    """An engine whose connections time out on connect and per statement.

    `asynchronous_commit` (the ack-before-commit defect) makes COMMIT return before its WAL
    is flushed: a crash of the database can then lose a commit the API already answered for.
    """
    server_settings = {"statement_timeout": str(STATEMENT_TIMEOUT_MS)}
    if asynchronous_commit:
        server_settings["synchronous_commit"] = "off"
    return create_async_engine(
        dsn,
        pool_size=POOL_SIZE,
        max_overflow=POOL_SIZE,
        pool_timeout=CONNECT_TIMEOUT_S,
        pool_pre_ping=True,
        connect_args={
            "timeout": CONNECT_TIMEOUT_S,
            "command_timeout": STATEMENT_TIMEOUT_MS / 1000,
            "server_settings": server_settings,
        },
    )
