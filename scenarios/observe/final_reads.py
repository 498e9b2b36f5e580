"""Final reads after the faults are healed: the primary's rows (movements, keys, the whole
ledger, the movements' recorded state transitions) and the network's records of every kind.

They go straight to the primary and the network simulator, around the proxy, so that no fault
can shape them. Each read retries a bounded number of times; what still fails is listed in
`errors` and the state is marked incomplete (the liveness checker then says `unknown`).
The reads are built once into the run-file model's final state, which the campaign writes.
"""

import asyncio
import logging
from typing import Any

import aiohttp
import asyncpg

from faults.transient import TRANSIENT_ERRORS
from invariants.model.final_state import FinalState, UncheckedFinalState, final_state_from_reads

log = logging.getLogger("paychaos.final_reads")

READ_ATTEMPTS_MAX = 5
READ_RETRY_DELAY_S = 1.0
READ_TIMEOUT_S = 30.0
# Pages of the network's records; bounds the read to 10M records.
NETWORK_PAGES_MAX = 10_000

_MOVEMENT_COLUMNS = """id, merchant_id AS merchant, idempotency_key, amount, currency, state,
       failure_code, resolved_by"""
# One query per list of final_state.json, all read in one snapshot.
PRIMARY_QUERIES = {
    "charges": f"SELECT {_MOVEMENT_COLUMNS}, amount_refunded FROM charges ORDER BY created_at, id",
    "refunds": f"SELECT {_MOVEMENT_COLUMNS}, charge_id, balance_seen FROM refunds "
    "ORDER BY created_at, id",
    "payouts": f"SELECT {_MOVEMENT_COLUMNS}, balance_seen FROM payouts ORDER BY created_at, id",
    "idempotency_keys": "SELECT merchant_id AS merchant, key, recovery_point, response_code, "
    "object_id FROM idempotency_keys ORDER BY id",
    "ledger_accounts": "SELECT id, merchant_id AS merchant, kind, currency, balance "
    "FROM accounts ORDER BY id",
    "ledger_entries": "SELECT e.id, e.transaction_id, t.kind AS transaction_kind, t.object_id, "
    "e.account_id, e.amount, e.balance_after FROM ledger_entries e "
    "JOIN ledger_transactions t ON t.id = e.transaction_id ORDER BY e.id",
    # Each object's steps in the order they were recorded (ids come from one sequence).
    "transitions": "SELECT id, object_type, object_id, from_state, to_state, actor "
    "FROM transitions ORDER BY id",
}
# What the network's records of each kind are called in final_state.json, and their fields.
NETWORK_LISTS = {
    "authorizations": ("network_authorizations", ("id", "reference", "amount", "currency")),
    "refunds": ("network_refunds", ("id", "reference", "authorization_id", "amount", "currency")),
    "payouts": ("network_payouts", ("id", "reference", "amount", "currency")),
}
UNRESOLVED_QUERY = """
SELECT (SELECT count(*) FROM charges WHERE state IN ('PENDING', 'PROCESSING'))
     + (SELECT count(*) FROM refunds WHERE state IN ('PENDING', 'PROCESSING'))
     + (SELECT count(*) FROM payouts WHERE state IN ('PENDING', 'PROCESSING'))
"""


async def unresolved_or_none(dsn: str) -> int | None:
    """`processing_count`, or None when the primary cannot answer right now."""
    try:
        return await processing_count(dsn)
    except TRANSIENT_ERRORS as error:
        log.warning("unresolved count failed: %s: %s", type(error).__name__, error)
        return None


async def processing_count(dsn: str) -> int:
    """How many charges, refunds and payouts are not final yet (PENDING or PROCESSING)."""
    connection = await asyncpg.connect(dsn, timeout=READ_TIMEOUT_S)
    try:
        return await connection.fetchval(UNRESOLVED_QUERY, timeout=READ_TIMEOUT_S)
    finally:
        await connection.close()


async def _read_primary(dsn: str) -> dict[str, list[dict[str, Any]]]:
    connection = await asyncpg.connect(dsn, timeout=READ_TIMEOUT_S)
    try:
        # One snapshot for every read, so they agree with each other.
        async with connection.transaction(isolation="repeatable_read", readonly=True):
            return {
                name: [dict(row) for row in await connection.fetch(query, timeout=READ_TIMEOUT_S)]
                for name, query in PRIMARY_QUERIES.items()
            }
    finally:
        await connection.close()


async def _read_network(url: str) -> dict[str, list[dict[str, Any]]]:
    timeout = aiohttp.ClientTimeout(total=READ_TIMEOUT_S)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        return {
            name: await _read_network_kind(session, url, path, fields)
            for path, (name, fields) in NETWORK_LISTS.items()
        }


async def _read_network_kind(
    session: aiohttp.ClientSession, url: str, path: str, fields: tuple[str, ...]
) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    after_seq = 0
    for _ in range(NETWORK_PAGES_MAX):
        async with session.get(
            f"{url}/v1/{path}", params={"after_seq": str(after_seq)}
        ) as response:
            response.raise_for_status()
            page = await response.json()
        records.extend(
            {
                **{field: record[field] for field in fields},
                "outcome": record["outcome"],
                "decline_code": record["decline_code"],
            }
            for record in page["data"]
        )
        after_seq = page["last_seq"]
        if not page["has_more"]:
            return records
    raise RuntimeError(f"more than {NETWORK_PAGES_MAX} pages of network {path}")


async def _with_retries(what: str, read, errors: list[str]):
    for attempt in range(1, READ_ATTEMPTS_MAX + 1):
        try:
            return await read()
        except TRANSIENT_ERRORS as error:
            if attempt == READ_ATTEMPTS_MAX:
                errors.append(f"{what}: {type(error).__name__}: {error}")
                return None
            await asyncio.sleep(READ_RETRY_DELAY_S)
    return None


async def read_final_state(
    *,
    primary_dsn: str,
    network_url: str,
    read_time_ns: int,
    quiesced: bool | None = None,
    problems: tuple[str, ...] = (),
) -> FinalState | UncheckedFinalState:
    """The final state (final_state.json) from the primary and the network.

    ``quiesced`` says whether recovery finished before the reads; ``problems`` are what went
    wrong before them (a fault not healed, the workload cut off): each one makes the state
    incomplete. Reads that break the run-file contract are kept as read, for ``analyze`` to
    name the broken field.
    """
    errors: list[str] = []
    primary = await _with_retries("primary", lambda: _read_primary(primary_dsn), errors)
    network = await _with_retries("network", lambda: _read_network(network_url), errors)
    state = final_state_from_reads(
        {
            "complete": primary is not None and network is not None and not problems,
            "errors": [*errors, *problems],
            "read_time": read_time_ns,
            **{name: (primary or {}).get(name, []) for name in PRIMARY_QUERIES},
            **{name: (network or {}).get(name, []) for name, _ in NETWORK_LISTS.values()},
            "quiesced": quiesced,
        }
    )
    if isinstance(state, UncheckedFinalState):
        log.error("final reads break the run-file contract, written as read: %s", state.problem)
    return state
