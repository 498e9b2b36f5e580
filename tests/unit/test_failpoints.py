"""Failpoints and their admin endpoint, without a topology: each action at its Nth hit, the
crash's line, the hang's release and bound, and every refusal of the admin endpoint."""

import asyncio
import subprocess
import sys
import textwrap
from unittest import mock

import pytest
from aiohttp import test_utils, web

import system_under_test.failpoints as failpoints_module
from system_under_test.admin import admin_address, loopback_and_json_errors, make_admin_app
from system_under_test.failpoints import (
    CRASH_LINE,
    POINTS,
    SERVICE_POINTS,
    FailpointError,
    Failpoints,
    FailpointSpecError,
)

# A test's own wait for something that should take milliseconds.
WAIT_S_MAX = 5.0


def test_points_cover_every_window_of_every_flow():
    for kind in ("charge", "refund", "payout"):
        assert {
            f"{kind}.after_claim",
            f"{kind}.after_processing_commit",
            f"{kind}.after_send",
            f"{kind}.after_resolve_commit",
        } <= SERVICE_POINTS["api"]
    assert SERVICE_POINTS["worker"] == {"recovery.after_look_up", "recovery.after_resolve_commit"}
    assert SERVICE_POINTS["api"] | SERVICE_POINTS["worker"] == POINTS


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


def test_a_hang_holds_its_hit_until_disarmed_and_only_that_hit():
    failpoints = Failpoints()
    failpoints.arm("payout.after_send", "hang", nth=2)

    async def scenario() -> None:
        await asyncio.wait_for(failpoints.hit("payout.after_send"), WAIT_S_MAX)
        held = asyncio.create_task(failpoints.hit("payout.after_send"))
        await asyncio.sleep(0.2)
        assert not held.done()
        assert failpoints.status()["hanging"]["payout.after_send"] == 1
        assert failpoints.status()["fired"]["payout.after_send"] == 1
        # Other hits pass while one hangs.
        await asyncio.wait_for(failpoints.hit("payout.after_send"), WAIT_S_MAX)
        failpoints.disarm_all()
        await asyncio.wait_for(held, WAIT_S_MAX)
        assert failpoints.status()["hanging"]["payout.after_send"] == 0

    asyncio.run(scenario())


def test_a_hang_goes_on_after_its_bound(monkeypatch):
    monkeypatch.setattr(failpoints_module, "HANG_S_MAX", 0.1)
    failpoints = Failpoints()
    failpoints.arm("recovery.after_look_up", "hang")

    async def timed() -> float:
        loop = asyncio.get_running_loop()
        started = loop.time()
        await asyncio.wait_for(failpoints.hit("recovery.after_look_up"), WAIT_S_MAX)
        return loop.time() - started

    assert 0.09 <= asyncio.run(timed()) < WAIT_S_MAX


def test_a_crash_names_its_point_on_stderr_and_dies_by_sigkill():
    program = textwrap.dedent(
        """
        import asyncio
        from system_under_test.failpoints import Failpoints
        failpoints = Failpoints()
        failpoints.arm("charge.after_send", "crash", nth=2)
        asyncio.run(failpoints.hit("charge.after_send"))
        print("survived the first hit", flush=True)
        asyncio.run(failpoints.hit("charge.after_send"))
        print("survived the crash", flush=True)
        """
    )
    completed = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=30, check=False
    )
    assert completed.returncode == -9
    assert completed.stdout.splitlines() == ["survived the first hit"]
    assert completed.stderr.splitlines() == [CRASH_LINE.format(name="charge.after_send")]


@pytest.mark.parametrize(
    ("name", "action", "nth", "delay_ms", "message"),
    [
        ("charge.nowhere", "crash", 1, 0, "name: unknown failpoint 'charge.nowhere'"),
        ("charge.after_send", "explode", 1, 0, "action: unknown action 'explode'"),
        ("charge.after_send", "crash", 0, 0, "nth: must be"),
        ("charge.after_send", "delay", 1, 0, "delay_ms: a delay needs delay_ms"),
        ("charge.after_send", "delay", 1, 10**9, "delay_ms: must be"),
        ("charge.after_send", "hang", 1, 500, "delay_ms: only a delay takes delay_ms"),
    ],
)
def test_bad_specs_are_refused_by_name(name, action, nth, delay_ms, message):
    with pytest.raises(FailpointSpecError, match=message):
        Failpoints().arm(name, action, nth=nth, delay_ms=delay_ms)


async def _admin_call(method: str, path: str, **options) -> tuple[int, dict, Failpoints]:
    failpoints = Failpoints()
    async with test_utils.TestClient(test_utils.TestServer(make_admin_app(failpoints))) as client:
        answer = await client.request(method, path, **options)
        return answer.status, await answer.json(), failpoints


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("not json", "body: must be a JSON object"),
        ([1, 2], "body: must be a JSON object"),
        ({"action": "crash"}, "name: required"),
        ({"name": "charge.after_send"}, "action: required"),
        ({"name": 5, "action": "crash"}, "name: must be a string, got 5"),
        ({"name": "charge.after_send", "action": None}, "action: must be a string, got null"),
        ({"name": "charge.after_send", "action": "crash", "nth": "5"}, "nth: must be an integer"),
        ({"name": "charge.after_send", "action": "crash", "nth": True}, "nth: must be an integer"),
        ({"name": "charge.after_send", "action": "delay", "delay_ms": 1.5}, "delay_ms: must be"),
        ({"name": "charge.after_send", "action": "crash", "when": 1}, "when: unknown field"),
        ({"name": "charge.nowhere", "action": "crash"}, "name: unknown failpoint"),
        ({"name": "charge.after_send", "action": "explode"}, "action: unknown action"),
        ({"name": "charge.after_send", "action": "crash", "nth": 0}, "nth: must be 1.."),
        ({"name": "charge.after_send", "action": "delay"}, "delay_ms: a delay needs"),
    ],
)
def test_a_bad_arming_call_is_a_400_naming_the_field_and_arms_nothing(body, message):
    options = {"data": body} if isinstance(body, str) else {"json": body}
    status, answer, failpoints = asyncio.run(_admin_call("POST", "/failpoints", **options))
    assert status == 400
    assert answer["error"]["message"].startswith(message), answer
    assert failpoints.status()["armed"] == {}


def test_a_good_arming_call_arms_and_a_delete_disarms():
    async def calls() -> tuple[dict, dict]:
        app = make_admin_app(Failpoints())
        async with test_utils.TestClient(test_utils.TestServer(app)) as client:
            body = {"name": "charge.after_send", "action": "crash", "nth": 5}
            armed = await (await client.post("/failpoints", json=body)).json()
            disarmed = await (await client.delete("/failpoints")).json()
            return armed, disarmed

    armed, disarmed = asyncio.run(calls())
    assert armed["armed"] == {"charge.after_send": {"action": "crash", "nth": 5, "delay_ms": 0}}
    assert disarmed["armed"] == {}


@pytest.mark.parametrize(
    ("method", "path", "status", "message"),
    [
        ("GET", "/nowhere", 404, "no route /nowhere"),
        ("POST", "/failpoints/charge.after_send", 404, "no route"),
        ("PUT", "/failpoints", 405, "no PUT on /failpoints"),
    ],
)
def test_an_unknown_route_is_refused_in_json(method, path, status, message):
    answered, answer, _ = asyncio.run(_admin_call(method, path))
    assert answered == status
    assert answer["error"]["message"].startswith(message)


def test_a_call_from_off_loopback_is_a_403():
    transport = mock.Mock()
    transport.get_extra_info.return_value = ("10.0.0.5", 40000)
    request = test_utils.make_mocked_request("GET", "/failpoints", transport=transport)
    handler = mock.AsyncMock(return_value=web.json_response({}))
    answer = asyncio.run(loopback_and_json_errors(request, handler))
    assert answer.status == 403
    assert "10.0.0.5" in answer.text
    handler.assert_not_called()


@pytest.mark.parametrize(
    ("text", "test_mode", "message"),
    [
        ("127.0.0.1:9000", False, "for test mode only"),
        (None, True, "test mode needs --admin-listen"),
        ("0.0.0.0:9000", True, "loopback only"),
        ("10.1.2.3:9000", True, "loopback only"),
        ("localhost:9000", True, "loopback only"),
        ("127.0.0.1:http", True, "loopback only"),
        ("127.0.0.1:70000", True, "port must be"),
    ],
)
def test_the_admin_listener_is_refused_outside_test_mode_and_off_loopback(text, test_mode, message):
    with pytest.raises(ValueError, match=message):
        admin_address(text, test_mode=test_mode)


def test_the_admin_listener_is_absent_outside_test_mode_and_on_loopback_in_it():
    assert admin_address(None, test_mode=False) is None
    assert admin_address("127.0.0.1:9000", test_mode=True) == ("127.0.0.1", 9000)
    assert admin_address("127.0.0.2:9000", test_mode=True) == ("127.0.0.2", 9000)
