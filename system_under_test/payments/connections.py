"""The one seam between the money paths and their database: an asyncpg connection, taken from
an asyncpg pool (the API's and the worker's) or from a SQLAlchemy engine's pool (the replica's,
which only the balance-from-replica defect reads a balance through), whichever the caller has.
The statements are the same either way (payments.sql).
"""

import contextlib
from collections.abc import AsyncIterator

import asyncpg
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from system_under_test.database import CONNECT_TIMEOUT_S

Database = AsyncEngine | asyncpg.Pool

# What a database that fails, restarts or is cut off raises on either path: every one of them
# rolls the phase back, and the request answers a retryable error. (asyncpg's own errors are
# not SQLAlchemy's when the statement runs on the raw connection.)
DATABASE_ERRORS = (SQLAlchemyError, asyncpg.PostgresError, asyncpg.InterfaceError)
# What a request or a worker pass may meet while a database or the card network fails,
# restarts or is cut off: the request answers a retryable error, the next pass retries.
TRANSIENT_ERRORS = (*DATABASE_ERRORS, OSError, TimeoutError)


@contextlib.asynccontextmanager
async def connected(database: Database) -> AsyncIterator[asyncpg.Connection]:
    """An asyncpg connection of `database` for one phase, returned to its pool after."""
    if isinstance(database, asyncpg.Pool):
        async with database.acquire(timeout=CONNECT_TIMEOUT_S) as connection:
            yield connection
        return
    async with database.connect() as wrapper:
        raw = await wrapper.get_raw_connection()
        driver = raw.driver_connection
        assert isinstance(driver, asyncpg.Connection), f"not an asyncpg engine: {driver!r}"
        yield driver
