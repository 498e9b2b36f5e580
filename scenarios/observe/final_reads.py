"""Final reads after the faults are healed: the primary's rows and the network's records.

They go straight to the primary and the network simulator, around the proxy, so that no fault
can shape them. Each read retries a bounded number of times; what still fails is listed in
`errors` and the state is marked incomplete (the liveness checker then says `unknown`).
"""

import asyncio
from typing import Any

import aiohttp
import asyncpg

READ_ATTEMPTS_MAX = 5
READ_RETRY_DELAY_S = 1.0
READ_TIMEOUT_S = 30.0
# Pages of the network's records; bounds the read to 10M records.
NETWORK_PAGES_MAX = 10_000

CHARGES_QUERY = """
SELECT id, merchant_id AS merchant, idempotency_key, amount, currency, state, failure_code,
       resolved_by
FROM charges ORDER BY created_at, id
"""
KEYS_QUERY = """
SELECT merchant_id AS merchant, key, recovery_point, response_code
FROM idempotency_keys ORDER BY id
"""
BALANCES_QUERY = """
SELECT merchant_id AS merchant, currency, balance AS available
FROM accounts WHERE merchant_id IS NOT NULL ORDER BY merchant_id, currency
"""
PROCESSING_QUERY = "SELECT count(*) FROM charges WHERE state IN ('PENDING', 'PROCESSING')"


async def processing_count(dsn: str) -> int:
    """How many charges are not final yet (PENDING or PROCESSING) on the primary."""
    connection = await asyncpg.connect(dsn, timeout=READ_TIMEOUT_S)
    try:
        return await connection.fetchval(PROCESSING_QUERY, timeout=READ_TIMEOUT_S)
    finally:
        await connection.close()


async def _read_primary(dsn: str) -> dict[str, list[dict[str, Any]]]:
    connection = await asyncpg.connect(dsn, timeout=READ_TIMEOUT_S)
    try:
        # One snapshot for all three reads, so they agree with each other.
        async with connection.transaction(isolation="repeatable_read", readonly=True):
            return {
                name: [dict(row) for row in await connection.fetch(query, timeout=READ_TIMEOUT_S)]
                for name, query in (
                    ("charges", CHARGES_QUERY),
                    ("idempotency_keys", KEYS_QUERY),
                    ("balances", BALANCES_QUERY),
                )
            }
    finally:
        await connection.close()


async def _read_network(url: str) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    after_seq = 0
    timeout = aiohttp.ClientTimeout(total=READ_TIMEOUT_S)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        for _ in range(NETWORK_PAGES_MAX):
            async with session.get(
                f"{url}/v1/authorizations", params={"after_seq": str(after_seq)}
            ) as response:
                response.raise_for_status()
                page = await response.json()
            records.extend(
                {
                    "id": record["id"],
                    "reference": record["reference"],
                    "amount": record["amount"],
                    "currency": record["currency"],
                    "outcome": record["outcome"],
                    "decline_code": record["decline_code"],
                }
                for record in page["data"]
            )
            after_seq = page["last_seq"]
            if not page["has_more"]:
                return records
    raise RuntimeError(f"more than {NETWORK_PAGES_MAX} pages of network records")


async def _with_retries(what: str, read, errors: list[str]):
    for attempt in range(1, READ_ATTEMPTS_MAX + 1):
        try:
            return await read()
        except (OSError, TimeoutError, asyncpg.PostgresError, aiohttp.ClientError) as error:
            if attempt == READ_ATTEMPTS_MAX:
                errors.append(f"{what}: {type(error).__name__}: {error}")
                return None
            await asyncio.sleep(READ_RETRY_DELAY_S)
    return None


async def read_final_state(*, primary_dsn: str, network_url: str, read_time_ns: int) -> dict:
    """The final state document (final_state.json) from the primary and the network."""
    errors: list[str] = []
    primary = await _with_retries("primary", lambda: _read_primary(primary_dsn), errors)
    network = await _with_retries("network", lambda: _read_network(network_url), errors)
    return {
        "complete": primary is not None and network is not None,
        "errors": errors,
        "read_time": read_time_ns,
        "charges": (primary or {}).get("charges", []),
        "idempotency_keys": (primary or {}).get("idempotency_keys", []),
        "balances": (primary or {}).get("balances", []),
        "network_authorizations": network or [],
    }
