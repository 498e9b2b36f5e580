"""Seeded toxicity: the same seed and connections give the same decisions, which are recorded
(GET /paychaos/decisions) and counted per toxic (GET /proxies/{p}/toxics/{t}/stats), and each
connection gets the effect its decision says."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import requests

from faults.proxy import BackgroundProxyServer
from tests.unit.test_fault_proxy_toxics import (
    SOCKET_TIMEOUT_S,
    Echo,
    Proxy,
    round_trip,
    running_upstream,
    serve_upstream,
)

CONNECTION_COUNT = 12
SEED = 7


@pytest.fixture
def echo() -> Iterator[str]:
    yield from serve_upstream(Echo)


def _decisions(server: BackgroundProxyServer) -> dict[str, object]:
    response = requests.get(server.url + "/paychaos/decisions", timeout=SOCKET_TIMEOUT_S)
    assert response.status_code == 200
    return dict(response.json())


def _run(seed: int) -> dict[str, object]:
    """Drive one fresh server through a fixed sequence of connections and API calls."""
    with BackgroundProxyServer(seed=seed) as server, running_upstream(Echo) as echo:
        proxy = Proxy(server, echo)
        proxy.add_toxic("noop", stream="upstream", toxicity=0.5)
        proxy.add_toxic("latency", toxicity=0.5, attributes={"latency": 1, "jitter": 1})
        for _ in range(CONNECTION_COUNT):
            with proxy.connect() as sock:
                assert round_trip(sock, b"ping") == b"ping"
        with proxy.connect() as first, proxy.connect() as second:
            proxy.add_toxic("noop", name="late", toxicity=0.5)  # rolled on both, in order
            proxy.update_toxic("latency_downstream", toxicity=0.25)  # re-rolled on both
            for sock in (first, second):
                assert round_trip(sock, b"ping") == b"ping"
        return _decisions(server)


def test_the_same_seed_gives_the_same_decisions() -> None:
    first, again, other = _run(SEED), _run(SEED), _run(SEED + 1)
    assert first["seed"] == SEED
    assert first == again
    decisions = first["decisions"]
    assert isinstance(decisions, list)
    # Two toxics on 14 connections, one added and one updated on the last two.
    assert len(decisions) == 2 * (CONNECTION_COUNT + 2) + 2 + 2
    assert decisions[0] == {
        "proxy": "echo",
        "connection": 1,
        "stream": "upstream",
        "toxic": "noop_upstream",
        "type": "noop",
        "revision": 0,
        "toxicity": 0.5,
        "roll": decisions[0]["roll"],
        "affected": decisions[0]["roll"] < 0.5,
    }
    assert {decision["affected"] for decision in decisions} == {True, False}
    # Another seed: 32 rolls agreeing on every outcome has odds of 2**-32 or so.
    assert [d["affected"] for d in decisions] != [d["affected"] for d in other["decisions"]]


def test_each_connection_gets_the_effect_its_decision_says(echo: str) -> None:
    with BackgroundProxyServer(seed=SEED) as server:
        proxy = Proxy(server, echo)
        name = proxy.add_toxic("latency", toxicity=0.5, attributes={"latency": 200})
        delays = []
        for _ in range(CONNECTION_COUNT):
            with proxy.connect() as sock:
                started = time.monotonic()
                assert round_trip(sock, b"ping") == b"ping"
                delays.append(time.monotonic() - started)
        decisions = [d for d in _decisions(server)["decisions"] if d["toxic"] == name]
        stats = proxy.stats(name)
    assert [d["connection"] for d in decisions] == list(range(1, CONNECTION_COUNT + 1))
    affected = [d["affected"] for d in decisions]
    assert [delay >= 0.2 for delay in delays] == affected
    assert 0 < sum(affected) < CONNECTION_COUNT, f"seed {SEED} should give both outcomes"
    assert stats == {
        "name": name,
        "connections_affected": sum(affected),
        "connections_spared": CONNECTION_COUNT - sum(affected),
        "bytes_affected": 4 * sum(affected),
    }


def test_toxicity_zero_and_one_are_never_and_always(echo: str) -> None:
    with BackgroundProxyServer() as server:
        proxy = Proxy(server, echo)
        never = proxy.add_toxic("reset_peer", toxicity=0.0, attributes={"timeout": 0})
        always = proxy.add_toxic("noop", toxicity=1.0)
        for _ in range(CONNECTION_COUNT):
            with proxy.connect() as sock:
                assert round_trip(sock, b"ping") == b"ping"
        assert proxy.stats(never)["connections_affected"] == 0
        assert proxy.stats(always)["connections_spared"] == 0
        assert proxy.stats(always)["connections_affected"] == CONNECTION_COUNT


def test_stats_of_an_unknown_or_removed_toxic_are_404(echo: str) -> None:
    with BackgroundProxyServer() as server:
        proxy = Proxy(server, echo)
        name = proxy.add_toxic("noop")
        assert proxy.stats(name)["connections_affected"] == 0
        proxy.remove_toxic(name)
        for path in (f"/toxics/{name}/stats", "/toxics/ghost/stats"):
            response = requests.get(proxy.url + path, timeout=SOCKET_TIMEOUT_S)
            assert (response.status_code, response.json()["error"]) == (404, "toxic not found")
        ghost = requests.get(server.url + "/proxies/ghost/toxics/x/stats", timeout=5)
        assert (ghost.status_code, ghost.json()["error"]) == (404, "proxy not found")


def test_a_server_without_a_seed_reports_the_one_it_drew() -> None:
    with BackgroundProxyServer() as first, BackgroundProxyServer() as second:
        seeds = [_decisions(server)["seed"] for server in (first, second)]
    assert seeds == [first.seed, second.seed]
    assert seeds[0] != seeds[1]
