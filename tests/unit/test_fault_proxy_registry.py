"""Populate and update compare addresses, not their spelling: `localhost:P` is `127.0.0.1:P`.

A proxy that only looks changed keeps its toxics and its open connections; a real change of
listen or upstream restarts it, as in Toxiproxy.
"""

from __future__ import annotations

import socket
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
    seconds_until_closed,
    serve_upstream,
)


@pytest.fixture
def server() -> Iterator[BackgroundProxyServer]:
    with BackgroundProxyServer() as running:
        yield running


@pytest.fixture
def echo() -> Iterator[str]:
    yield from serve_upstream(Echo)


def _port(address: str) -> int:
    return int(address.rsplit(":", 1)[1])


def _toxic_names(proxy: Proxy) -> list[str]:
    listing = requests.get(proxy.url + "/toxics", timeout=SOCKET_TIMEOUT_S).json()
    return [toxic["name"] for toxic in listing]


def _populate(server: BackgroundProxyServer, body: list[dict[str, object]]) -> dict:
    response = requests.post(server.url + "/populate", json=body, timeout=SOCKET_TIMEOUT_S)
    assert response.status_code == 201, response.text
    return dict(response.json())


def test_populate_with_localhost_keeps_toxics_and_connections(
    server: BackgroundProxyServer, echo: str
) -> None:
    proxy = Proxy(server, echo)
    proxy.add_toxic("noop")
    same = {
        "name": "echo",
        "listen": f"localhost:{proxy.port}",
        "upstream": f"localhost:{_port(echo)}",
    }
    with proxy.connect() as sock:
        assert round_trip(sock, b"before") == b"before"
        [kept] = _populate(server, [same])["proxies"]
        assert round_trip(sock, b"after") == b"after"
    assert (kept["listen"], kept["upstream"]) == (f"127.0.0.1:{proxy.port}", echo)
    assert _toxic_names(proxy) == ["noop_downstream"]


@pytest.mark.parametrize("field", ["listen", "upstream"])
def test_patch_with_localhost_keeps_toxics_and_connections(
    server: BackgroundProxyServer, echo: str, field: str
) -> None:
    proxy = Proxy(server, echo)
    proxy.add_toxic("noop")
    spelled = {"listen": f"localhost:{proxy.port}", "upstream": f"localhost:{_port(echo)}"}
    with proxy.connect() as sock:
        answer = requests.patch(proxy.url, json={field: spelled[field]}, timeout=5).json()
        assert round_trip(sock, b"still") == b"still"
    assert (answer["listen"], answer["upstream"]) == (f"127.0.0.1:{proxy.port}", echo)
    assert _toxic_names(proxy) == ["noop_downstream"]


def test_a_real_upstream_change_restarts_the_proxy(
    server: BackgroundProxyServer, echo: str
) -> None:
    proxy = Proxy(server, echo)
    proxy.add_toxic("noop")
    with running_upstream(Echo) as other, proxy.connect() as sock:
        assert round_trip(sock, b"ping") == b"ping"
        answer = requests.patch(proxy.url, json={"upstream": other}, timeout=5).json()
        assert seconds_until_closed(sock) < 1.0
        assert (answer["upstream"], answer["enabled"]) == (other, True)
        with proxy.connect() as fresh:
            assert round_trip(fresh, b"ping") == b"ping"
    assert _toxic_names(proxy) == ["noop_downstream"]  # an update keeps toxics


def test_populate_with_a_real_change_replaces_the_proxy(
    server: BackgroundProxyServer, echo: str
) -> None:
    proxy = Proxy(server, echo)
    proxy.add_toxic("noop")
    with socket.create_server(("127.0.0.1", 0)) as placeholder:
        free_port = placeholder.getsockname()[1]
    moved = {"name": "echo", "listen": f"127.0.0.1:{free_port}", "upstream": echo}
    [replaced] = _populate(server, [moved])["proxies"]
    assert (replaced["listen"], replaced["toxics"]) == (f"127.0.0.1:{free_port}", [])
