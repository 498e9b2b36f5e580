"""Slow clients cannot hold the live topology's servers: the API and the card network
simulator close a Slowloris connection within their header bound and a short body within their
body bound, and answer a legitimate request meanwhile."""

import asyncio

import pytest
import requests

from system_under_test.api.__main__ import API_BOUNDS
from system_under_test.deploy.local import LocalTopology
from system_under_test.externals.network.__main__ import NETWORK_BOUNDS
from tests.integration.conftest import assert_nothing_left
from tests.slow_clients import closed_after_s, short_body, slowloris

pytestmark = pytest.mark.integration

# Beyond a bound, the server's timers and this machine's load; never near the next bound.
SLACK_S = 5.0
# Slow connections opened at once to each server: more than a handful, far below its
# per-address bound.
SLOW_CONNECTIONS = 20


@pytest.fixture(scope="module")
def topology(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("slow")
    with LocalTopology(run_dir, merchant_count=1) as local:
        yield local
    assert_nothing_left(run_dir)


def _address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    return host, int(port)


async def _hold(
    address, bounds, path: str, headers: dict[str, str]
) -> tuple[list[float | None], list[float | None]]:
    """How long after the wait began each Slowloris and each short-body connection was closed
    (None: still held past its bound and the slack)."""
    host, port = address
    loris = [await slowloris(host, port) for _ in range(SLOW_CONNECTIONS)]
    shorts = [await short_body(host, port, path, headers) for _ in range(SLOW_CONNECTIONS)]
    header_waits = asyncio.gather(
        *(
            closed_after_s(connection, timeout_s=bounds.header_read_timeout_s + SLACK_S, drip=True)
            for connection in loris
        )
    )
    body_waits = asyncio.gather(
        *(
            closed_after_s(connection, timeout_s=bounds.body_read_timeout_s + SLACK_S)
            for connection in shorts
        )
    )
    return await header_waits, await body_waits


async def _legitimate_meanwhile(url: str) -> int:
    await asyncio.sleep(1.0)
    answer = await asyncio.to_thread(requests.get, url, timeout=10)
    return answer.status_code


def test_slow_connections_are_closed_within_the_bounds(topology):
    endpoints = topology.endpoints()
    api_key = {"Authorization": f"Bearer {endpoints.merchants[0].api_key}"}
    servers = {
        "api": (API_BOUNDS, "/v1/charges", api_key),
        "network": (NETWORK_BOUNDS, "/v1/authorizations", {}),
    }

    async def scenario():
        held = asyncio.gather(
            *(
                _hold(_address(endpoints.services[service]), *server)
                for service, server in servers.items()
            )
        )
        statuses = [
            await _legitimate_meanwhile(f"http://{endpoints.services[service]}/health")
            for service in servers
        ]
        return await held, statuses

    closed, statuses = asyncio.run(scenario())
    assert statuses == [200, 200]
    for (service, (bounds, _, _)), (loris, shorts) in zip(servers.items(), closed, strict=True):
        for kind, seconds, bound_s in (
            ("Slowloris", loris, bounds.header_read_timeout_s),
            ("short-body", shorts, bounds.body_read_timeout_s),
        ):
            held = seconds.count(None)
            assert held == 0, f"{service}: {held} of {len(seconds)} {kind} connections held"
            # Closed by the bound's timer, not at once: every connection was opened moments
            # before the wait began, so none may close in less than half its bound.
            assert min(seconds) >= bound_s / 2, f"{service}: a {kind} connection closed early"
