"""Alembic migrations of the payments schema, run in code: no alembic.ini on disk.

The revisions in versions/ are the only thing that creates or changes tables; schema.py is
what the code expects them to have made (tests/integration/test_migrations.py checks that the
two agree). Each run is one transaction on the project's async engine, whose connection
env.py receives through the config's attributes (Alembic's connection-sharing recipe).

    >>> dsn = "postgresql+asyncpg://postgres@127.0.0.1:5432/paychaos"
    >>> asyncio.run(upgrade(dsn))  # doctest: +SKIP

A new revision is made the same way, with a connection lent to env.py:
`command.revision(alembic_config(connection), "message", autogenerate=True)` inside
`connection.run_sync`; review what it wrote, then freeze it.
"""

from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection

from system_under_test.database import make_engine

__all__ = ["CONNECTION_ATTRIBUTE", "MIGRATIONS_DIR", "alembic_config", "downgrade", "upgrade"]

MIGRATIONS_DIR = Path(__file__).resolve().parent
# The key of Config.attributes under which env.py finds the connection to migrate over.
CONNECTION_ATTRIBUTE = "connection"


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic config for this package's revisions, lending `connection` to env.py."""
    config = Config()
    # Option values go through configparser interpolation: a `%` in the path must be doubled.
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    if connection is not None:
        config.attributes[CONNECTION_ATTRIBUTE] = connection
    return config


async def upgrade(dsn: str, *, revision: str = "head") -> None:
    """Migrate the database at `dsn` (an asyncpg DSN) up to `revision`, in one transaction."""
    await _run(dsn, lambda config: command.upgrade(config, revision))


async def downgrade(dsn: str, *, revision: str = "base") -> None:
    """Migrate the database at `dsn` down to `revision`; `base` drops every table."""
    await _run(dsn, lambda config: command.downgrade(config, revision))


async def _run(dsn: str, step: Callable[[Config], None]) -> None:
    engine = make_engine(dsn)
    try:
        # PostgreSQL's DDL is transactional: a failed revision leaves the database as it was.
        async with engine.begin() as connection:
            await connection.run_sync(lambda sync: step(alembic_config(sync)))
    finally:
        await engine.dispose()
