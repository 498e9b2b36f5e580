"""`python -m system_under_test.migrate --dsn DSN --merchants N --out FILE`.

Migrates the database to the newest revision (system_under_test.migrations), then seeds the
ledger's platform accounts and N new test merchants with their accounts; writes the new
merchants' ids and secret keys to FILE (the only place the plain keys exist).

Safe to run again on a migrated database: the platform accounts exist once (the accounts'
unique constraint treats NULL merchants as equal, and the insert skips what exists); each
run adds N more merchants.
"""

import argparse
import asyncio
import json
import logging
import secrets
from pathlib import Path

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from system_under_test.api.authentication import hash_api_key
from system_under_test.database import make_engine
from system_under_test.ids import new_id
from system_under_test.migrations import upgrade
from system_under_test.payments.accounts import (
    CURRENCIES,
    MERCHANT_ACCOUNT_KINDS,
    PLATFORM_ACCOUNT_KINDS,
)
from system_under_test.schema import accounts, merchants


async def migrate(dsn: str, merchant_count: int) -> list[dict[str, str]]:
    """Migrate to head and seed `merchant_count` merchants; returns their ids and keys."""
    assert merchant_count >= 0, merchant_count
    await upgrade(dsn)
    engine = make_engine(dsn)
    try:
        async with engine.begin() as connection:
            await _seed_platform_accounts(connection)
            return [await _seed_merchant(connection, number) for number in range(merchant_count)]
    finally:
        await engine.dispose()


async def _seed_platform_accounts(connection: AsyncConnection) -> None:
    rows = [
        {"merchant_id": None, "kind": kind, "currency": currency}
        for kind in PLATFORM_ACCOUNT_KINDS
        for currency in CURRENCIES
    ]
    await connection.execute(insert(accounts).values(rows).on_conflict_do_nothing())


async def _seed_merchant(connection: AsyncConnection, number: int) -> dict[str, str]:
    merchant_id = new_id("acct")
    api_key = f"sk_test_{secrets.token_hex(16)}"
    await connection.execute(
        merchants.insert().values(
            id=merchant_id, name=f"Test merchant {number + 1}", api_key_hash=hash_api_key(api_key)
        )
    )
    await connection.execute(
        accounts.insert(),
        [
            {"merchant_id": merchant_id, "kind": kind, "currency": currency}
            for kind in MERCHANT_ACCOUNT_KINDS
            for currency in CURRENCIES
        ],
    )
    return {"id": merchant_id, "api_key": api_key}


def main() -> None:
    parser = argparse.ArgumentParser(prog="paychaos-migrate", description=__doc__)
    parser.add_argument("--dsn", required=True)
    parser.add_argument("--merchants", type=int, default=2)
    parser.add_argument("--out", type=Path, required=True)
    arguments = parser.parse_args()
    if arguments.merchants < 0:
        parser.error(f"--merchants must be 0 or more, not {arguments.merchants}")
    # Alembic logs each revision it runs at INFO: the deploy's migrate.log shows them.
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    seeded = asyncio.run(migrate(arguments.dsn, arguments.merchants))
    temporary = arguments.out.with_suffix(".tmp")
    temporary.write_text(json.dumps(seeded, indent=2))
    temporary.replace(arguments.out)


if __name__ == "__main__":
    main()
