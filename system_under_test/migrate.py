"""`python -m system_under_test.migrate --dsn DSN --merchants N --out FILE`.

Creates the schema and seeds test merchants with their ledger accounts; writes the merchants'
ids and secret keys to FILE (the only place the plain keys exist).
"""

import argparse
import asyncio
import json
import secrets
from pathlib import Path

from system_under_test.api.authentication import hash_api_key
from system_under_test.database import make_engine
from system_under_test.ids import new_id
from system_under_test.schema import (
    ACCOUNT_MERCHANT_AVAILABLE,
    ACCOUNT_NETWORK_RECEIVABLE,
    accounts,
    merchants,
    metadata,
)

CURRENCIES = ("usd", "eur", "gbp")


async def migrate(dsn: str, merchant_count: int) -> list[dict[str, str]]:
    """Create every table and seed `merchant_count` merchants; returns their ids and keys."""
    engine = make_engine(dsn)
    seeded = []
    try:
        async with engine.begin() as connection:
            await connection.run_sync(metadata.create_all)
            await connection.execute(
                accounts.insert(),
                [
                    {"merchant_id": None, "kind": ACCOUNT_NETWORK_RECEIVABLE, "currency": currency}
                    for currency in CURRENCIES
                ],
            )
            for number in range(merchant_count):
                merchant_id = new_id("acct")
                api_key = f"sk_test_{secrets.token_hex(16)}"
                await connection.execute(
                    merchants.insert().values(
                        id=merchant_id,
                        name=f"Test merchant {number + 1}",
                        api_key_hash=hash_api_key(api_key),
                    )
                )
                await connection.execute(
                    accounts.insert(),
                    [
                        {
                            "merchant_id": merchant_id,
                            "kind": ACCOUNT_MERCHANT_AVAILABLE,
                            "currency": currency,
                        }
                        for currency in CURRENCIES
                    ],
                )
                seeded.append({"id": merchant_id, "api_key": api_key})
    finally:
        await engine.dispose()
    return seeded


def main() -> None:
    parser = argparse.ArgumentParser(prog="paychaos-migrate", description=__doc__)
    parser.add_argument("--dsn", required=True)
    parser.add_argument("--merchants", type=int, default=2)
    parser.add_argument("--out", type=Path, required=True)
    arguments = parser.parse_args()
    seeded = asyncio.run(migrate(arguments.dsn, arguments.merchants))
    temporary = arguments.out.with_suffix(".tmp")
    temporary.write_text(json.dumps(seeded, indent=2))
    temporary.replace(arguments.out)


if __name__ == "__main__":
    main()
