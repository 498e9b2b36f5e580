"""The ladders of a bench run on a started topology: fund the merchants, warm up, then each
step of offered load in turn (open loop), through the proxy and beside it, with the CPU each
service used, the SUT left idle between two steps, and the steps above a saturated one skipped.
"""

import asyncio
import logging

import aiohttp
import asyncpg

from scenarios.bench import cpu
from scenarios.bench.driver import REQUEST_TIMEOUT_S, Driver
from scenarios.bench.errors import BenchError
from scenarios.bench.schedule import plan_step
from scenarios.bench.settings import BenchSettings
from scenarios.bench.stats import summarize
from scenarios.workload.api import WRITE_PATHS
from system_under_test.config import LOCK_TTL_S_DEFAULT
from system_under_test.deploy.topology import Endpoints

log = logging.getLogger("paychaos.bench")

# Each merchant's funding, in cents: covers every payout and refund of a long ladder.
FUNDING_AMOUNT = 10_000_000
# A short unrecorded step first, well below any ceiling seen: pools, prepared statements and
# caches warm up without leaving a backlog.
WARM_UP_RATE_PER_S = 10.0
WARM_UP_S = 3.0
# Between steps the SUT must be idle (no key locked by a request in flight, no movement
# unresolved), so one step's stragglers do not land in the next: at least SETTLE_S_MIN, at
# most SETTLE_S_MAX (an unresolved movement is resolved by the worker within its deadline, 5 s,
# plus a margin; a backlog of requests the driver gave up on drains within its timeouts).
SETTLE_S_MIN = 1.0
SETTLE_S_MAX = 60.0
SETTLE_POLL_S = 0.5
# A step that answers less than this share of its charges saturated the SUT: the higher steps
# would only queue more, so the ladder stops there and lists them as skipped.
SATURATED_SHARE = 0.5
# A key locked for longer than the lock TTL belongs to a request that is gone (one that
# failed and could not unlock it): it no longer says the SUT is busy.
BUSY_QUERY = """
SELECT (SELECT count(*) FROM idempotency_keys
        WHERE locked_at > now() - make_interval(secs => $1))
     + (SELECT count(*) FROM charges WHERE state IN ('PENDING', 'PROCESSING'))
     + (SELECT count(*) FROM refunds WHERE state IN ('PENDING', 'PROCESSING'))
     + (SELECT count(*) FROM payouts WHERE state IN ('PENDING', 'PROCESSING'))
"""
# A step ends at most this long after its last request is due: every request has its own
# REQUEST_TIMEOUT_S, and the gather of their answers a little more.
STEP_SLACK_S = REQUEST_TIMEOUT_S + 5.0
# One funding or set-up call; far above a healthy answer.
SETUP_CALL_TIMEOUT_S = 30.0


async def _fund(endpoints: Endpoints, driver: Driver) -> None:
    """One large approved charge per merchant, before anything is measured."""
    timeout = aiohttp.ClientTimeout(total=SETUP_CALL_TIMEOUT_S)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        for number, merchant in enumerate(endpoints.merchants):
            async with session.post(
                f"{endpoints.api_url}{WRITE_PATHS['charge']}",
                data={"amount": str(FUNDING_AMOUNT), "currency": "usd", "source": "tok_visa"},
                headers={
                    "Authorization": f"Bearer {merchant.api_key}",
                    "Idempotency-Key": f"bench-funding-{number}",
                },
            ) as response:
                body = await response.json(content_type=None)
                if response.status != 200:
                    raise BenchError(f"funding charge answered {response.status}: {body}")
            driver.remember_charge(number, body["id"])


async def _settle(primary_dsn: str) -> dict:
    """Wait until the SUT is idle, within SETTLE_S_MAX; says how long it took and whether."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    await asyncio.sleep(SETTLE_S_MIN)
    busy = None
    connection = await asyncpg.connect(primary_dsn, timeout=SETUP_CALL_TIMEOUT_S)
    try:
        while loop.time() - started < SETTLE_S_MAX:
            busy = await connection.fetchval(
                BUSY_QUERY, LOCK_TTL_S_DEFAULT, timeout=SETUP_CALL_TIMEOUT_S
            )
            if busy == 0:
                break
            await asyncio.sleep(SETTLE_POLL_S)
    finally:
        await connection.close()
    return {"settle_s": round(loop.time() - started, 1), "busy_after_settle": busy}


async def _ladder(
    driver: Driver, settings: BenchSettings, endpoints: Endpoints, api_url: str, name: str
) -> list[dict]:
    steps: list[dict] = []
    for number, rate in enumerate(settings.rates):
        if any(step.get("saturated") for step in steps):
            steps.append({"rate_per_s": rate, "duration_s": settings.step_s, "skipped": True})
            continue
        plan = plan_step(
            seed=settings.seed,
            label=f"{name}-{number}",
            rate_per_s=rate,
            duration_s=settings.step_s,
            merchant_count=settings.merchants,
            debit_share=settings.debit_share,
        )
        started = cpu.snapshot()
        async with asyncio.timeout(settings.step_s + STEP_SLACK_S):
            samples = await driver.run_step(plan, api_url)
        cpu_shares = cpu.shares(started, cpu.snapshot())
        figures = summarize(samples, duration_s=settings.step_s)
        charges = figures["charge"]
        log.info(
            "%s %g/s: %.1f charges/s, p50 %s p99 %s ms, errors %s",
            name,
            rate,
            charges["achieved_per_s"],
            charges["p50_ms"],
            charges["p99_ms"],
            charges["errors"],
        )
        saturated = charges["definitive"] < SATURATED_SHARE * max(1, charges["offered"])
        steps.append(
            {
                "rate_per_s": rate,
                "duration_s": settings.step_s,
                "kinds": figures,
                "cpu": cpu_shares,
                "saturated": saturated,
                **await _settle(endpoints.primary_dsn),
            }
        )
    return steps


async def drive_ladders(endpoints: Endpoints, settings: BenchSettings) -> dict[str, list[dict]]:
    driver = Driver([merchant.api_key for merchant in endpoints.merchants])
    async with driver:
        await _fund(endpoints, driver)
        if settings.warm_up:
            warm_up = plan_step(
                seed=settings.seed,
                label="warm-up",
                rate_per_s=WARM_UP_RATE_PER_S,
                duration_s=WARM_UP_S,
                merchant_count=settings.merchants,
                debit_share=settings.debit_share,
            )
            async with asyncio.timeout(WARM_UP_S + STEP_SLACK_S):
                await driver.run_step(warm_up, endpoints.api_url)
            await _settle(endpoints.primary_dsn)
        ladders = {
            "proxied": await _ladder(driver, settings, endpoints, endpoints.api_url, "proxied")
        }
        if settings.direct:
            direct_url = f"http://{endpoints.services['api']}"
            ladders["direct"] = await _ladder(driver, settings, endpoints, direct_url, "direct")
    return ladders
