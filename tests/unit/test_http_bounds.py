"""The servers' bounds on slow clients (http_bounds), on a small server with short bounds:
a Slowloris connection and a short body are closed within their bounds while a legitimate
request is answered, and connections beyond the per-address bound are refused."""

import asyncio

import aiohttp
from aiohttp import web

from faults.proxy.server import API_BOUNDS as PROXY_BOUNDS
from http_bounds import BoundedSite, ServerBounds, bounded_runner
from system_under_test.admin import ADMIN_BOUNDS
from system_under_test.api.__main__ import API_BOUNDS
from system_under_test.externals.network.__main__ import NETWORK_BOUNDS
from tests.slow_clients import closed_after_s, short_body, slowloris

BOUNDS = ServerBounds(
    header_read_timeout_s=1.0, body_read_timeout_s=1.0, connections_per_address_max=4
)
# Beyond a bound: aiohttp's timers and a loaded machine.
SLACK_S = 2.0


async def _echo(request: web.Request) -> web.Response:
    return web.Response(body=await request.read())


async def _serve(bounds: ServerBounds) -> tuple[web.AppRunner, int]:
    app = web.Application()
    app.router.add_post("/echo", _echo)
    app.router.add_get("/health", _ok)
    runner = bounded_runner(app, bounds)
    await runner.setup()
    await BoundedSite(runner, "127.0.0.1", 0, bounds=bounds).start()
    return runner, runner.addresses[0][1]


async def _ok(request: web.Request) -> web.Response:
    return web.Response(text="ok")


async def _get(port: int) -> int:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{port}/health") as answer,
    ):
        return answer.status


def test_slowloris_and_short_body_are_closed_while_a_request_is_answered():
    async def scenario():
        runner, port = await _serve(BOUNDS)
        try:
            loris = await slowloris("127.0.0.1", port)
            short = await short_body("127.0.0.1", port, "/echo", {})
            timeout_s = BOUNDS.header_read_timeout_s + SLACK_S
            waits = asyncio.gather(
                closed_after_s(loris, timeout_s=timeout_s, drip=True),
                closed_after_s(short, timeout_s=BOUNDS.body_read_timeout_s + SLACK_S),
            )
            status = await _get(port)
            return await waits, status
        finally:
            await runner.cleanup()

    (loris_s, short_s), status = asyncio.run(scenario())
    assert status == 200
    assert loris_s is not None
    assert loris_s >= BOUNDS.header_read_timeout_s - 0.1
    assert short_s is not None
    assert short_s >= BOUNDS.body_read_timeout_s - 0.1


def test_a_whole_body_sent_slowly_within_the_bound_is_read():
    async def scenario():
        runner, port = await _serve(BOUNDS)
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nab")
            await asyncio.sleep(BOUNDS.body_read_timeout_s / 2)
            writer.write(b"cd")
            answer = await asyncio.wait_for(reader.read(65536), SLACK_S)
            writer.close()
            return answer
        finally:
            await runner.cleanup()

    answer = asyncio.run(scenario())
    assert answer.startswith(b"HTTP/1.1 200")
    assert answer.endswith(b"abcd")


def test_connections_beyond_the_per_address_bound_are_refused():
    async def scenario():
        runner, port = await _serve(BOUNDS)
        try:
            held = [
                await slowloris("127.0.0.1", port)
                for _ in range(BOUNDS.connections_per_address_max)
            ]
            extra = await slowloris("127.0.0.1", port)
            refused_s = await closed_after_s(extra, timeout_s=SLACK_S)
            for _, writer in held:
                writer.close()
            await asyncio.sleep(0.2)
            return refused_s, await _get(port)
        finally:
            await runner.cleanup()

    refused_s, status = asyncio.run(scenario())
    assert refused_s is not None
    assert refused_s < BOUNDS.header_read_timeout_s
    assert status == 200


def test_every_server_bounds_its_clients_above_the_clients_own_keep_alive():
    # aiohttp's client keeps an idle connection 15 s: a server closing one sooner could drop
    # a request sent on it.
    client_keep_alive_s = 15.0
    for bounds in (API_BOUNDS, ADMIN_BOUNDS, NETWORK_BOUNDS, PROXY_BOUNDS):
        assert bounds.header_read_timeout_s > client_keep_alive_s
