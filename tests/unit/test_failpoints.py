import asyncio

import pytest

from system_under_test.failpoints import POINTS, FailpointError, Failpoints, FailpointSpecError


def test_points_cover_every_window_of_every_flow():
    for kind in ("charge", "refund", "payout"):
        assert {
            f"{kind}.after_claim",
            f"{kind}.after_processing_commit",
            f"{kind}.after_send",
            f"{kind}.after_resolve_commit",
        } <= POINTS


def test_an_error_fires_on_the_nth_hit_only_and_is_counted():
    failpoints = Failpoints()
    failpoints.arm("refund.after_send", "error", nth=3)

    async def hits():
        for _ in range(2):
            await failpoints.hit("refund.after_send")
        with pytest.raises(FailpointError, match=r"refund\.after_send"):
            await failpoints.hit("refund.after_send")
        await failpoints.hit("refund.after_send")

    asyncio.run(hits())
    status = failpoints.status()
    assert status["hits"]["refund.after_send"] == 4
    assert status["fired"]["refund.after_send"] == 1
    assert status["armed"] == {}


def test_a_delay_waits_its_time():
    failpoints = Failpoints()
    failpoints.arm("charge.after_claim", "delay", delay_ms=50)

    async def timed() -> float:
        loop = asyncio.get_running_loop()
        started = loop.time()
        await failpoints.hit("charge.after_claim")
        return loop.time() - started

    assert asyncio.run(timed()) >= 0.045


@pytest.mark.parametrize(
    ("name", "action", "nth", "delay_ms", "message"),
    [
        ("charge.nowhere", "crash", 1, 0, "unknown failpoint 'charge.nowhere'"),
        ("charge.after_send", "explode", 1, 0, "unknown action 'explode'"),
        ("charge.after_send", "crash", 0, 0, "nth must be"),
        ("charge.after_send", "delay", 1, 0, "a delay needs delay_ms"),
        ("charge.after_send", "delay", 1, 10**9, "delay_ms must be"),
    ],
)
def test_bad_specs_are_refused_by_name(name, action, nth, delay_ms, message):
    with pytest.raises(FailpointSpecError, match=message):
        Failpoints().arm(name, action, nth=nth, delay_ms=delay_ms)
