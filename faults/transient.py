"""The errors the harness meets while a service restarts, dies, starts up or was just promoted.

A database refusing or resetting a connection, "the database system is starting up", a
read-only standby, an HTTP call cut off: each is retried within its caller's bound, never a
crash of the run. Fault kinds (admin calls, SQL straight to a server) and the final reads
catch this one tuple.
"""

import aiohttp
import asyncpg

TRANSIENT_ERRORS = (
    OSError,
    TimeoutError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    aiohttp.ClientError,
)
