"""What one operation costs the primary, measured: statements (pg_stat_statements), durable
commits and WAL bytes (the WAL written meanwhile, read back with pg_waldump), and what an
idempotency key takes on disk (its row and its index entries).

Operations run one at a time with nothing else writing, so the counts are the operation's own:
the caller stops the worker first (its polling would be counted too).
"""

import asyncio
import re
from collections.abc import Callable
from pathlib import Path

import aiohttp
import asyncpg

from scenarios.bench.errors import BenchError
from scenarios.bench.tools import run_tool
from scenarios.workload.api import WRITE_PATHS

# Every statement of this measurement itself mentions the view; those are left out.
COUNTS_QUERY = """
SELECT coalesce(sum(calls), 0)::bigint AS statements,
       coalesce(sum(calls) FILTER (WHERE query ILIKE 'commit%'), 0)::bigint AS commits,
       coalesce(sum(calls) FILTER (WHERE query ILIKE 'begin%'), 0)::bigint AS begins,
       coalesce(sum(calls) FILTER (WHERE query ILIKE 'rollback%'), 0)::bigint AS rollbacks
FROM pg_stat_statements WHERE query NOT ILIKE '%pg_stat_statements%'
"""
DETAIL_QUERY = """
SELECT round(calls::numeric / $1, 2)::float AS per_operation,
       left(regexp_replace(query, '\\s+', ' ', 'g'), 110) AS query
FROM pg_stat_statements WHERE query NOT ILIKE '%pg_stat_statements%'
ORDER BY calls DESC, query
"""
KEY_SIZES_QUERY = """
SELECT count(*)::bigint AS keys,
       pg_table_size('idempotency_keys')::bigint AS table_bytes,
       pg_indexes_size('idempotency_keys')::bigint AS index_bytes,
       coalesce(avg(pg_column_size(k.*)), 0)::float AS row_bytes_average,
       coalesce(avg(pg_column_size(k.response_body)), 0)::float AS response_bytes_average,
       coalesce(avg(pg_column_size(k.request_params)), 0)::float AS params_bytes_average
FROM idempotency_keys k
"""
# One API call of the measurement; far above a healthy answer.
CALL_TIMEOUT_S = 30.0
# pg_waldump over a few hundred operations' WAL takes well under a second.
WALDUMP_TIMEOUT_S = 60.0
_COMMIT_RECORD = re.compile(r"desc: COMMIT\b")


class MeasureError(BenchError):
    """An operation of the measurement did not succeed, or pg_waldump failed."""


async def _post(session: aiohttp.ClientSession, url: str, form: dict, key: str) -> dict:
    async with session.post(url, data=form, headers={"Idempotency-Key": key}) as response:
        body = await response.json(content_type=None)
        if response.status != 200:
            raise MeasureError(f"POST {url} {form} answered {response.status}: {body}")
        return body


def _operation(session: aiohttp.ClientSession, api_url: str, kind: str) -> Callable:
    async def charge(key: str, charge_id: str | None) -> dict:
        form = {"amount": "500", "currency": "usd", "source": "tok_visa"}
        return await _post(session, api_url + WRITE_PATHS["charge"], form, key)

    async def refund(key: str, charge_id: str | None) -> dict:
        form = {"charge": charge_id, "amount": "200"}
        return await _post(session, api_url + WRITE_PATHS["refund"], form, key)

    async def payout(key: str, charge_id: str | None) -> dict:
        return await _post(
            session, api_url + WRITE_PATHS["payout"], {"amount": "100", "currency": "usd"}, key
        )

    return {"charge": charge, "refund": refund, "payout": payout}[kind]


def count_commits(bindir: Path, wal_dir: Path, start_lsn: str, end_lsn: str) -> int:
    """COMMIT records in the WAL between two positions: every transaction that wrote and was
    made durable, explicit (BEGIN ... COMMIT) or a single statement's own."""
    completed = run_tool(
        [
            str(bindir / "pg_waldump"),
            "--path",
            str(wal_dir),
            "--start",
            start_lsn,
            "--end",
            end_lsn,
            "--rmgr",
            "Transaction",
        ],
        timeout_s=WALDUMP_TIMEOUT_S,
        error=MeasureError,
    )
    if completed.returncode != 0 and not completed.stdout:
        raise MeasureError(f"pg_waldump failed: {completed.stderr.strip()[-300:]}")
    return len(_COMMIT_RECORD.findall(completed.stdout))


async def measure_operations(
    *,
    api_url: str,
    api_key: str,
    primary_dsn: str,
    bindir: Path,
    wal_dir: Path,
    kind: str,
    count: int,
    tag: str,
) -> dict:
    """Per-operation costs of `count` sequential successful operations of `kind`, after one
    unmeasured warm-up (which prepares every statement of the path)."""
    assert count >= 1, "measure at least one operation"
    timeout = aiohttp.ClientTimeout(total=CALL_TIMEOUT_S)
    headers = {"Authorization": f"Bearer {api_key}"}
    connection = await asyncpg.connect(primary_dsn)
    try:
        await connection.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        async with aiohttp.ClientSession(timeout=timeout, headers=headers) as session:
            operation = _operation(session, api_url, kind)
            # Each refund refunds a charge of its own, made before the counters start.
            charge_ids: list[str | None] = [None] * (count + 1)
            if kind == "refund":
                funding = _operation(session, api_url, "charge")
                charge_ids = [
                    (await funding(f"{tag}-funding-{number}", None))["id"]
                    for number in range(count + 1)
                ]
            await operation(f"{tag}-warm-up", charge_ids[count])
            start_lsn = await connection.fetchval("SELECT pg_current_wal_lsn()::text")
            await connection.execute("SELECT pg_stat_statements_reset()")
            for number in range(count):
                await operation(f"{tag}-{number}", charge_ids[number])
            totals = await connection.fetchrow(COUNTS_QUERY)
            detail = await connection.fetch(DETAIL_QUERY, count)
            end_lsn = await connection.fetchval("SELECT pg_current_wal_flush_lsn()::text")
            wal_bytes = await connection.fetchval(
                "SELECT pg_wal_lsn_diff($1::text::pg_lsn, $2::text::pg_lsn)::bigint",
                end_lsn,
                start_lsn,
            )
    finally:
        await connection.close()
    commits = await asyncio.to_thread(count_commits, bindir, wal_dir, start_lsn, end_lsn)
    return {
        "count": count,
        "statements": totals["statements"] / count,
        "explicit_commits": totals["commits"] / count,
        "begins": totals["begins"] / count,
        "rollbacks": totals["rollbacks"] / count,
        "durable_commits": commits / count,
        "wal_bytes": wal_bytes / count,
        "detail": [
            {"per_operation": row["per_operation"], "query": row["query"]} for row in detail
        ],
    }


async def idempotency_key_bytes(primary_dsn: str) -> dict:
    """Bytes per idempotency key, heap (with TOAST) and indexes, as the run left the table and
    after a VACUUM (which frees the versions each key's updates left behind)."""
    connection = await asyncpg.connect(primary_dsn)
    try:
        as_left = dict(await connection.fetchrow(KEY_SIZES_QUERY))
        await connection.execute("VACUUM idempotency_keys")
        vacuumed = dict(await connection.fetchrow(KEY_SIZES_QUERY))
    finally:
        await connection.close()
    return {"as_left": _per_key(as_left), "vacuumed": _per_key(vacuumed)}


def _per_key(sizes: dict) -> dict:
    keys = sizes["keys"]
    per_key = {
        "table_bytes_per_key": sizes["table_bytes"] / keys if keys else None,
        "index_bytes_per_key": sizes["index_bytes"] / keys if keys else None,
    }
    return {**sizes, **per_key}
