"""The Alembic revisions against a bare PostgreSQL 15: they make exactly schema.py's tables,
`python -m system_under_test.migrate` can run twice, and downgrading to base empties the
database."""

import asyncio
import json
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import MetaData, func, inspect, select, text
from sqlalchemy.engine import Connection

from system_under_test import schema
from system_under_test.api.authentication import hash_api_key
from system_under_test.database import make_engine
from system_under_test.deploy import postgres
from system_under_test.deploy.ports import LOOPBACK, free_port
from system_under_test.deploy.processes import ServiceProcess
from system_under_test.migrations import downgrade, upgrade
from system_under_test.payments.accounts import (
    CURRENCIES,
    MERCHANT_ACCOUNT_KINDS,
    PLATFORM_ACCOUNT_KINDS,
)

pytestmark = pytest.mark.integration

# initdb and a first start take a few seconds on 2 cores; far beyond that something hangs.
SERVER_READY_TIMEOUT_S = 60
# Migrating and seeding a few merchants takes about a second.
MIGRATE_TIMEOUT_S = 60
MERCHANT_COUNT = 2
# The names PostgreSQL gives unnamed constraints (the migration writes them out), so that
# autogenerate can pair each unique constraint by name and compare its options too.
POSTGRESQL_NAMES = {
    "ix": "ix_%(column_0_label)s",
    "uq": "%(table_name)s_%(column_0_N_name)s_key",
    "fk": "%(table_name)s_%(column_0_N_name)s_fkey",
    "pk": "%(table_name)s_pkey",
}


@dataclass(frozen=True)
class Server:
    bindir: Path
    port: int
    log_dir: Path

    @property
    def dsn(self) -> str:
        return postgres.dsn(self.port, driver="postgresql+asyncpg")


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[Server]:
    """A bare PostgreSQL 15 primary, stopped and its data removed whatever happens."""
    bindir = postgres.find_bindir()
    run_dir = tmp_path_factory.mktemp("migrations")
    log_dir = run_dir / "logs"
    log_dir.mkdir()
    port = free_port()
    process: ServiceProcess | None = None
    try:
        data_dir = postgres.data_root(run_dir) / "primary"
        postgres.init_primary(bindir, data_dir, port, log_dir / "pg-init.log")
        process = postgres.server_process("pg-primary", bindir, data_dir, log_dir / "pg.log")
        process.start()
        # Polls pg_isready until SERVER_READY_TIMEOUT_S, failing early if postgres exits.
        process.wait_ready(
            lambda: postgres.is_ready(bindir, port), timeout_s=SERVER_READY_TIMEOUT_S
        )
        yield Server(bindir, port, log_dir)
    finally:
        if process is not None:
            process.stop()
        postgres.remove_data(run_dir)


@pytest.fixture
def database(server: Server) -> str:
    """A fresh, empty SUT database on the server; returns its asyncpg DSN."""
    dropped = subprocess.run(
        [
            str(server.bindir / "dropdb"),
            *("-h", LOOPBACK, "-p", str(server.port), "-U", postgres.SUPERUSER),
            "--if-exists",
            "--force",
            postgres.DATABASE_NAME,
        ],
        capture_output=True,
        text=True,
        timeout=postgres.TOOL_TIMEOUT_S,
        check=False,
    )
    assert dropped.returncode == 0, dropped.stderr
    postgres.create_database(server.bindir, server.port, server.log_dir / "createdb.log")
    return server.dsn


def on_connection(dsn: str, work: Callable[[Connection], Any]) -> Any:
    """Run `work` on a synchronous view of one connection to `dsn`; returns its result."""

    async def run() -> Any:
        engine = make_engine(dsn)
        try:
            async with engine.connect() as connection:
                return await connection.run_sync(work)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def differences_from(metadata: MetaData) -> Callable[[Connection], list]:
    """What autogenerate would change to turn the connected database into `metadata`."""

    def differences(connection: Connection) -> list:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "compare_server_default": True}
        )
        return compare_metadata(context, metadata)

    return differences


def named_as_postgresql(metadata: MetaData) -> MetaData:
    """A copy of `metadata` whose unnamed constraints carry PostgreSQL's default names.

    Autogenerate pairs an unnamed unique constraint with the database's by columns alone and
    then never compares its options (NULLS NOT DISTINCT); paired by name, it does.
    """
    named = MetaData(naming_convention=POSTGRESQL_NAMES)
    for table in metadata.sorted_tables:
        table.to_metadata(named)
    return named


def run_migrate(dsn: str, out: Path) -> list[dict[str, str]]:
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "system_under_test.migrate",
            *("--dsn", dsn, "--merchants", str(MERCHANT_COUNT), "--out", str(out)),
        ],
        capture_output=True,
        text=True,
        timeout=MIGRATE_TIMEOUT_S,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    return json.loads(out.read_text())


def test_the_migrated_database_is_what_schema_py_describes(database: str) -> None:
    asyncio.run(upgrade(database))

    assert on_connection(database, differences_from(schema.metadata)) == []


def test_constraints_have_schema_py_options_and_postgresql_names(database: str) -> None:
    asyncio.run(upgrade(database))

    named = named_as_postgresql(schema.metadata)
    assert on_connection(database, differences_from(named)) == []


def test_migrate_twice_seeds_one_set_of_platform_accounts(database: str, tmp_path) -> None:
    first = run_migrate(database, tmp_path / "first.json")
    second = run_migrate(database, tmp_path / "second.json")

    def read(connection: Connection) -> tuple[list, dict[str, str], list]:
        account_rows = connection.execute(
            select(
                schema.accounts.c.merchant_id, schema.accounts.c.kind, schema.accounts.c.currency
            )
        ).all()
        merchant_rows = connection.execute(
            select(schema.merchants.c.id, schema.merchants.c.api_key_hash)
        ).all()
        balances = connection.execute(select(func.sum(schema.accounts.c.balance))).all()
        return account_rows, dict(merchant_rows), balances

    account_rows, key_hashes, balances = on_connection(database, read)
    platform = sorted((kind, currency) for owner, kind, currency in account_rows if owner is None)
    assert len(platform) == len(PLATFORM_ACCOUNT_KINDS) * len(CURRENCIES)
    expected_platform = sorted(
        (kind, currency) for kind in PLATFORM_ACCOUNT_KINDS for currency in CURRENCIES
    )
    assert platform == expected_platform
    seeded = first + second
    assert len(seeded) == 2 * MERCHANT_COUNT
    assert key_hashes == {merchant["id"]: hash_api_key(merchant["api_key"]) for merchant in seeded}
    for merchant in seeded:
        assert re.fullmatch(r"sk_test_[0-9a-f]{32}", merchant["api_key"])
        owned = sorted(
            (kind, currency) for owner, kind, currency in account_rows if owner == merchant["id"]
        )
        assert owned == sorted(
            (kind, currency) for kind in MERCHANT_ACCOUNT_KINDS for currency in CURRENCIES
        )
    assert balances == [(0,)]


def test_downgrade_to_base_removes_every_table(database: str) -> None:
    asyncio.run(upgrade(database))
    asyncio.run(downgrade(database))

    def leftovers(connection: Connection) -> tuple[list[str], list[str], list]:
        sequences = connection.execute(
            text("SELECT relname FROM pg_class WHERE relkind = 'S' ORDER BY relname")
        ).scalars()
        versions = connection.execute(text("SELECT version_num FROM alembic_version")).all()
        return inspect(connection).get_table_names(), list(sequences), versions

    tables, sequences, versions = on_connection(database, leftovers)
    # Alembic keeps its own version table, empty: that records that the database is at base.
    assert tables == ["alembic_version"]
    assert versions == []
    assert sequences == []
