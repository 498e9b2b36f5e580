"""The `failpoint` fault kind against a live topology: armed through the services' admin
endpoints, it fires at the Nth hit, holds a hang until its stop, crashes the API (confirmed
by SIGKILL, healed by a restart), and fires in the worker (confirmed by the worker's count)."""

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

import pytest
import requests

from faults.kinds import KINDS, Injection, Measured
from faults.kinds.failpoint import ActiveFailpoint
from faults.toxiproxy_api import ToxiproxyApi
from scenarios.campaign import fault_context
from system_under_test.deploy.local import LocalTopology
from system_under_test.failpoints import CRASH_LINE
from tests.integration.conftest import assert_nothing_left
from tests.integration.sut import Sut, until

pytestmark = pytest.mark.integration

KIND = KINDS["failpoint"]
# A charge on loopback takes tens of milliseconds; a delay of DELAY_MS stands out of any of
# them, and half of it is the line between fast and delayed.
DELAY_MS = 1500
FAST_S_MAX = DELAY_MS / 1000 / 2
# How long a hang is watched to be still holding its request.
HOLD_S = 1.0
# A request's own bound (sut.REQUEST_TIMEOUT_S is 30 s) is far past any of these waits.
ANSWER_WAIT_S = 15.0
# Recovery looks a movement up once its deadline (5 s) and margin (1 s) passed.
RECOVERY_WAIT_S = 40.0


@pytest.fixture(scope="module")
def topology(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("failpoint-kind")
    with LocalTopology(run_dir, merchant_count=1, seed=13) as local:
        yield local
    assert_nothing_left(run_dir)


@pytest.fixture(scope="module")
def sut(topology):
    return Sut(topology.endpoints())


@pytest.fixture(scope="module")
def runner(topology):
    """One event loop for the module, as a campaign has one for its run: a service the kind
    restarts from a worker thread dies when that thread ends (PR_SET_PDEATHSIG belongs to
    the thread that forked), and `asyncio.run` ends its threads on return."""
    with asyncio.Runner() as module_runner:
        yield module_runner


@contextlib.asynccontextmanager
async def armed(
    topology: LocalTopology, params: dict, *, lifetime_s: float
) -> AsyncIterator[tuple[ActiveFailpoint, list[Measured]]]:
    """The kind's life around the block: prepare and start before it, stop after it (the
    stop's Measured is appended to the yielded list, so the test can assert on the heal)."""
    endpoints = topology.endpoints()
    async with ToxiproxyApi(endpoints.proxy_api) as toxiproxy:
        context = fault_context(toxiproxy, topology, now_s=asyncio.get_running_loop().time)
        prepared = await KIND.prepare(context, params)
        injection = Injection("test", params, prepared, lifetime_s)
        active = await KIND.start(context, injection)
        healed: list[Measured] = []
        try:
            yield active, healed
        finally:
            healed.append(await active.stop())


def _charge_form(amount: int) -> dict:
    return {"amount": str(amount), "currency": "usd", "source": "tok_visa"}


def _timed_charge(sut: Sut, key: str) -> tuple[float, int]:
    started = time.monotonic()
    answer = sut.post("charge", _charge_form(500), key=key)
    return time.monotonic() - started, answer.status


def test_a_delay_fires_exactly_at_the_nth_hit(sut, topology, runner):
    params = {
        "service": "api",
        "point": "charge.after_claim",
        "action": "delay",
        "nth": 3,
        "delay_ms": DELAY_MS,
    }

    async def life():
        async with armed(topology, params, lifetime_s=10) as (active, healed):
            timings = []
            for number in range(4):
                timings.append(await asyncio.to_thread(_timed_charge, sut, f"delay-{number}"))
            measured = await active.confirm()
        return timings, measured, healed[0]

    timings, measured, healed = runner.run(life())
    assert [status for _, status in timings] == [200] * 4
    elapsed = [round(seconds, 3) for seconds, _ in timings]
    assert elapsed[0] < FAST_S_MAX and elapsed[1] < FAST_S_MAX, elapsed
    assert DELAY_MS / 1000 * 0.95 <= elapsed[2] < ANSWER_WAIT_S, elapsed
    # Fired once: the hit after it is fast again.
    assert elapsed[3] < FAST_S_MAX, elapsed
    assert measured.confirmed, measured.evidence
    evidence = measured.evidence
    assert evidence["fired_after"] == evidence["fired_before"] + 1
    assert (evidence["point"], evidence["action"], evidence["nth"]) == (
        "charge.after_claim",
        "delay",
        3,
    )
    assert healed.confirmed and healed.evidence["disarmed"]


def test_a_hang_holds_a_request_until_disarmed(sut, topology, runner):
    params = {"service": "api", "point": "charge.after_resolve_commit", "action": "hang"}

    async def life():
        async with armed(topology, params, lifetime_s=10) as (active, healed):
            request = asyncio.create_task(asyncio.to_thread(_timed_charge, sut, "hang-0"))
            measured = await active.confirm()
            await asyncio.sleep(HOLD_S)
            held = not request.done()
        # The stop has disarmed: the request goes on and is answered.
        elapsed, status = await asyncio.wait_for(request, ANSWER_WAIT_S)
        return measured, held, elapsed, status, healed[0]

    measured, held, elapsed, status, healed = runner.run(life())
    assert measured.confirmed, measured.evidence
    assert measured.evidence["hanging"] == 1
    assert held
    assert status == 200
    assert elapsed >= HOLD_S
    assert healed.confirmed and healed.evidence["disarmed"]


def test_an_api_crash_is_confirmed_by_sigkill_and_healed_by_a_restart(sut, topology, runner):
    point = "charge.after_processing_commit"
    params = {"service": "api", "point": point, "action": "crash", "nth": 2}
    api_log = topology.run_dir / "logs" / "api.log"
    crash_lines_before = api_log.read_text().count(CRASH_LINE.format(name=point))

    async def life():
        async with armed(topology, params, lifetime_s=10) as (active, healed):
            first = await asyncio.to_thread(_timed_charge, sut, "crash-0")
            with pytest.raises(requests.ConnectionError):
                await asyncio.to_thread(_timed_charge, sut, "crash-1")
            measured = await active.confirm()
        return first, measured, healed[0]

    first, measured, healed = runner.run(life())
    assert first[1] == 200
    assert measured.confirmed, measured.evidence
    assert (measured.evidence["exit_status"], measured.evidence["process_gone"]) == (-9, True)
    assert healed.confirmed and healed.evidence["restarted"]
    assert topology.running("api")
    assert api_log.read_text().count(CRASH_LINE.format(name=point)) == crash_lines_before + 1
    # The restarted API serves, with nothing armed.
    assert _timed_charge(sut, "crash-2")[1] == 200


def test_a_worker_failpoint_fires_and_is_confirmed_by_the_workers_count(sut, topology, runner):
    params = {
        "service": "worker",
        "point": "recovery.after_look_up",
        "action": "delay",
        "delay_ms": 200,
    }

    async def life():
        # Armed first: the movement left PROCESSING below is looked up some 6 s later.
        async with armed(topology, params, lifetime_s=RECOVERY_WAIT_S) as (active, healed):
            sut.arm("charge.after_send", "crash")
            with pytest.raises(requests.ConnectionError):
                await asyncio.to_thread(_timed_charge, sut, "worker-0")
            await asyncio.to_thread(topology.restart, "api")
            measured = await active.confirm()
        return measured, healed[0]

    measured, healed = runner.run(life())
    assert measured.confirmed, measured.evidence
    assert measured.evidence["fired_after"] == measured.evidence["fired_before"] + 1
    assert healed.confirmed and healed.evidence["disarmed"]
    final = until(lambda: _final_states(sut, "worker-0"), timeout_s=RECOVERY_WAIT_S)
    assert final == ["SUCCEEDED"]


def _final_states(sut: Sut, key: str) -> list[str]:
    rows = sut.sql(
        "SELECT state FROM charges WHERE idempotency_key = $1 AND state IN ('SUCCEEDED', 'FAILED')",
        key,
    )
    return [row["state"] for row in rows]


def test_a_worker_error_ends_its_pass_not_the_worker(sut, topology, runner):
    params = {"service": "worker", "point": "recovery.after_look_up", "action": "error"}
    pid = topology.pid("worker")

    async def life():
        async with armed(topology, params, lifetime_s=RECOVERY_WAIT_S) as (active, healed):
            sut.arm("charge.after_send", "crash")
            with pytest.raises(requests.ConnectionError):
                await asyncio.to_thread(_timed_charge, sut, "worker-error-0")
            await asyncio.to_thread(topology.restart, "api")
            measured = await active.confirm()
        return measured, healed[0]

    measured, healed = runner.run(life())
    assert measured.confirmed, measured.evidence
    # The failed pass was followed by another, which resolved the charge; same process.
    final = until(lambda: _final_states(sut, "worker-error-0"), timeout_s=RECOVERY_WAIT_S)
    assert final == ["SUCCEEDED"]
    assert topology.pid("worker") == pid
    assert healed.confirmed
