"""The fault proxy's Toxiproxy HTTP API: toxiproxy-python drives it, statuses and bodies match.

The server runs in a background thread (BackgroundProxyServer) per test; the command-line tests
run it as `python -m faults.proxy` in a subprocess. Every HTTP call and wait has a timeout.
"""

from __future__ import annotations

import select
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator

import pytest
import requests
import toxiproxy
from toxiproxy.exceptions import InvalidToxic, NotFound, ProxyExists

from faults.proxy import API_VERSION, BackgroundProxyServer

HTTP_TIMEOUT_S = 5.0
PROCESS_WAIT_MAX_S = 15.0
UPSTREAM = "127.0.0.1:9"  # never dialled: no test here opens a proxied connection


@pytest.fixture
def server() -> Iterator[BackgroundProxyServer]:
    with BackgroundProxyServer() as running:
        yield running


@pytest.fixture
def client(server: BackgroundProxyServer) -> toxiproxy.Toxiproxy:
    client = toxiproxy.Toxiproxy()
    client.update_api_consumer(*server.address)
    return client


def _call(
    server: BackgroundProxyServer, method: str, path: str, body: object = None, **kwargs: object
) -> requests.Response:
    return requests.request(method, server.url + path, json=body, timeout=HTTP_TIMEOUT_S, **kwargs)


def _port(listen: str) -> int:
    return int(listen.rsplit(":", 1)[1])


# toxiproxy-python 0.1.1, unchanged


def test_toxiproxy_python_creates_lists_gets_and_destroys(client: toxiproxy.Toxiproxy) -> None:
    proxy = client.create(upstream=UPSTREAM, name="api")
    assert proxy.enabled is True
    assert _port(proxy.listen) != 0
    assert set(client.proxies()) == {"api"}
    assert client.get_proxy("api").listen == proxy.listen
    with pytest.raises(ProxyExists):
        client.create(upstream=UPSTREAM, name="api")
    assert client.destroy(proxy) is True
    assert client.proxies() == {}
    assert client.get_proxy("api") is None


def test_toxiproxy_python_disable_enable_keeps_the_port(client: toxiproxy.Toxiproxy) -> None:
    proxy = client.create(upstream=UPSTREAM, name="api")
    proxy.disable()
    disabled = client.get_proxy("api")
    assert (disabled.enabled, disabled.listen) == (False, proxy.listen)
    proxy.enable()
    enabled = client.get_proxy("api")
    assert (enabled.enabled, enabled.listen) == (True, proxy.listen)


def test_toxiproxy_python_created_disabled_echoes_listen(client: toxiproxy.Toxiproxy) -> None:
    proxy = client.create(upstream=UPSTREAM, name="api", listen="127.0.0.1:0", enabled=False)
    assert (proxy.enabled, proxy.listen) == (False, "127.0.0.1:0")


def test_toxiproxy_python_toxics(client: toxiproxy.Toxiproxy) -> None:
    proxy = client.create(upstream=UPSTREAM, name="api")
    proxy.add_toxic(type="latency", attributes={"latency": 100})
    toxic = proxy.get_toxic("latency_downstream")
    assert (toxic.type, toxic.stream, toxic.toxicity) == ("latency", "downstream", 1.0)
    assert toxic.attributes == {"latency": 100, "jitter": 0}
    with pytest.raises(InvalidToxic):
        proxy.add_toxic(type="latency", stream="lolstream")
    with pytest.raises(InvalidToxic):
        proxy.add_toxic(type="no_such_toxic")
    assert proxy.destroy_toxic("latency_downstream") is True
    assert proxy.toxics() == {}
    with pytest.raises(NotFound):
        proxy.destroy_toxic("latency_downstream")


def test_toxiproxy_python_reset_enables_and_clears(client: toxiproxy.Toxiproxy) -> None:
    proxy = client.create(upstream=UPSTREAM, name="api")
    proxy.add_toxic(type="timeout", attributes={"timeout": 0})
    proxy.disable()
    assert client.reset() is True
    after = client.get_proxy("api")
    assert (after.enabled, after.listen) == (True, proxy.listen)
    assert after.toxics() == {}


def test_toxiproxy_python_version_and_unknown_path(client: toxiproxy.Toxiproxy) -> None:
    assert client.running() is True
    assert client.version() == b'{"version": "2.6.0"}'
    with pytest.raises(NotFound):
        toxiproxy.api.APIConsumer.get("/no/such/path")


def test_toxiproxy_python_populate_keeps_an_unchanged_proxy(client: toxiproxy.Toxiproxy) -> None:
    proxy = client.create(upstream=UPSTREAM, name="api")
    proxy.add_toxic(type="noop")
    same = {"name": "api", "upstream": UPSTREAM, "listen": proxy.listen}
    assert client.populate([same]) == []
    assert list(client.get_proxy("api").toxics()) == ["noop_downstream"]


# Statuses and bodies


def test_create_answers_201_with_the_bound_address(server: BackgroundProxyServer) -> None:
    response = _call(server, "POST", "/proxies", {"name": "api", "upstream": UPSTREAM})
    assert response.status_code == 201
    body = response.json()
    assert body["listen"].startswith("127.0.0.1:") and _port(body["listen"]) != 0
    assert body | {"listen": None} == {
        "name": "api",
        "listen": None,
        "upstream": UPSTREAM,
        "enabled": True,
        "toxics": [],
    }
    with socket.create_connection(("127.0.0.1", _port(body["listen"])), timeout=HTTP_TIMEOUT_S):
        pass  # the proxy really listens there


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"upstream": UPSTREAM}, "missing required field: name"),
        ({"name": "api"}, "missing required field: upstream"),
        ({"name": "", "upstream": UPSTREAM}, "missing required field: name"),
        ({"name": 7, "upstream": UPSTREAM}, "bad request body: field 'name' must be a string"),
        ({"name": "api", "upstream": "no-port"}, "bad request body: upstream: address"),
        ({"name": "api", "upstream": UPSTREAM, "enabled": "yes"}, "bad request body: field"),
        ([], "bad request body: expected a JSON object"),
    ],
)
def test_create_refuses_bad_bodies(
    server: BackgroundProxyServer, body: object, message: str
) -> None:
    response = _call(server, "POST", "/proxies", body)
    assert response.status_code == 400
    assert response.json()["status"] == 400
    assert response.json()["error"].startswith(message)


def test_create_refuses_invalid_json(server: BackgroundProxyServer) -> None:
    response = requests.post(server.url + "/proxies", data=b"{nope", timeout=HTTP_TIMEOUT_S)
    assert response.status_code == 400
    assert response.json()["error"].startswith("bad request body")


def test_create_conflict_and_bind_error(server: BackgroundProxyServer) -> None:
    first = _call(server, "POST", "/proxies", {"name": "api", "upstream": UPSTREAM}).json()
    again = _call(server, "POST", "/proxies", {"name": "api", "upstream": UPSTREAM})
    assert (again.status_code, again.json()) == (
        409,
        {"error": "proxy already exists", "status": 409},
    )
    taken = {"name": "other", "upstream": UPSTREAM, "listen": first["listen"]}
    response = _call(server, "POST", "/proxies", taken)
    assert response.status_code == 500
    assert response.json()["error"].endswith("address already in use")
    assert _call(server, "GET", "/proxies/other").status_code == 404


def test_not_found_bodies_and_unknown_paths(server: BackgroundProxyServer) -> None:
    missing = _call(server, "GET", "/proxies/ghost")
    assert (missing.status_code, missing.json()) == (
        404,
        {"error": "proxy not found", "status": 404},
    )
    _call(server, "POST", "/proxies", {"name": "api", "upstream": UPSTREAM})
    toxic = _call(server, "GET", "/proxies/api/toxics/ghost")
    assert (toxic.status_code, toxic.json()["error"]) == (404, "toxic not found")
    unknown = _call(server, "GET", "/no/such/path")
    assert (unknown.status_code, unknown.text) == (404, "404 page not found\n")
    assert _call(server, "DELETE", "/proxies/ghost").status_code == 404


@pytest.mark.parametrize(
    ("method", "path"),
    [("PUT", "/proxies"), ("DELETE", "/version"), ("GET", "/reset"), ("PUT", "/proxies/api")],
)
def test_wrong_method_on_a_known_path_is_405(
    server: BackgroundProxyServer, method: str, path: str
) -> None:
    assert _call(server, method, path).status_code == 405


def test_update_patch_and_post(server: BackgroundProxyServer) -> None:
    created = _call(server, "POST", "/proxies", {"name": "api", "upstream": UPSTREAM}).json()
    patched = _call(server, "PATCH", "/proxies/api", {"enabled": False})
    assert (patched.status_code, patched.json()["enabled"]) == (200, False)
    moved = _call(server, "POST", "/proxies/api", {"upstream": "127.0.0.1:10", "enabled": None})
    assert moved.json() | {"toxics": None} == {
        "name": "api",
        "listen": created["listen"],
        "upstream": "127.0.0.1:10",
        "enabled": False,
        "toxics": None,
    }
    enabled = _call(server, "PATCH", "/proxies/api", {"enabled": True}).json()
    assert (enabled["enabled"], enabled["listen"]) == (True, created["listen"])
    bad = _call(server, "PATCH", "/proxies/api", {"listen": "nowhere"})
    assert bad.status_code == 400
    assert _call(server, "PATCH", "/proxies/ghost", {}).status_code == 404


def test_delete_closes_the_listener(server: BackgroundProxyServer) -> None:
    created = _call(server, "POST", "/proxies", {"name": "api", "upstream": UPSTREAM}).json()
    assert _call(server, "DELETE", "/proxies/api").status_code == 204
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", _port(created["listen"])), timeout=HTTP_TIMEOUT_S)


def test_toxic_create_defaults_and_errors(server: BackgroundProxyServer) -> None:
    _call(server, "POST", "/proxies", {"name": "api", "upstream": UPSTREAM})
    created = _call(
        server, "POST", "/proxies/api/toxics", {"type": "timeout", "stream": "UpStream"}
    )
    assert (created.status_code, created.json()) == (
        200,
        {
            "name": "timeout_upstream",
            "type": "timeout",
            "stream": "upstream",
            "toxicity": 1.0,
            "attributes": {"timeout": 0},
        },
    )
    failures = {
        "invalid toxic type": {"type": "lolcat"},
        "stream was invalid, can be either upstream or downstream": {"type": "noop", "stream": ""},
        "toxic already exists": {"type": "noop", "name": "timeout_upstream"},
    }
    for message, body in failures.items():
        answer = _call(server, "POST", "/proxies/api/toxics", body)
        assert answer.json()["error"] == message
        assert answer.status_code == (409 if "exists" in message else 400)


@pytest.mark.parametrize(
    "attributes",
    [{"latency": "300"}, {"latency": 1.5}, {"latency": True}, {"jitter": -1}, {"latency": [1]}],
)
def test_toxic_attributes_of_a_wrong_type_are_400(
    server: BackgroundProxyServer, attributes: dict[str, object]
) -> None:
    _call(server, "POST", "/proxies", {"name": "api", "upstream": UPSTREAM})
    response = _call(
        server, "POST", "/proxies/api/toxics", {"type": "latency", "attributes": attributes}
    )
    assert response.status_code == 400
    assert response.json()["error"].startswith("bad request body: attribute")
    assert _call(server, "GET", "/proxies/api/toxics").json() == []


def test_toxic_update_merges_and_listing_order(server: BackgroundProxyServer) -> None:
    _call(server, "POST", "/proxies", {"name": "api", "upstream": UPSTREAM})
    for body in [
        {"type": "latency", "name": "slow", "attributes": {"latency": 300, "jitter": 5}},
        {"type": "noop", "stream": "upstream"},
        {"type": "timeout", "toxicity": 0.5},
    ]:
        assert _call(server, "POST", "/proxies/api/toxics", body).status_code == 200
    listing = _call(server, "GET", "/proxies/api/toxics").json()
    assert [toxic["name"] for toxic in listing] == ["noop_upstream", "slow", "timeout_downstream"]
    update = {"attributes": {"latency": 50}, "toxicity": 0.25, "type": "timeout", "stream": "up"}
    updated = _call(server, "PATCH", "/proxies/api/toxics/slow", update)
    assert updated.json() == {
        "name": "slow",
        "type": "latency",
        "stream": "downstream",
        "toxicity": 0.25,
        "attributes": {"latency": 50, "jitter": 5},
    }
    assert _call(server, "GET", "/proxies/api/toxics/slow").json() == updated.json()
    assert _call(server, "POST", "/proxies/api/toxics/ghost", {}).status_code == 404
    assert _call(server, "GET", "/proxies/api").json()["toxics"] == [
        listing[0],
        updated.json(),
        listing[2],
    ]


def test_populate(server: BackgroundProxyServer) -> None:
    first = _call(server, "POST", "/populate", [{"name": "a", "upstream": UPSTREAM}])
    assert first.status_code == 201
    [proxy_a] = first.json()["proxies"]
    _call(server, "POST", "/proxies/a/toxics", {"type": "noop"})
    same_a = {"name": "a", "upstream": UPSTREAM, "listen": proxy_a["listen"]}
    second = _call(server, "POST", "/populate", [same_a, {"name": "b", "upstream": UPSTREAM}])
    assert second.status_code == 201
    kept, created = second.json()["proxies"]
    assert [toxic["type"] for toxic in kept["toxics"]] == ["noop"]
    assert (kept["listen"], created["name"]) == (proxy_a["listen"], "b")
    invalid = _call(server, "POST", "/populate", [same_a, {"upstream": UPSTREAM}])
    assert (invalid.status_code, invalid.json()["error"]) == (
        400,
        "missing required field: name at proxy 2",
    )
    assert _call(server, "POST", "/populate", {"name": "a"}).status_code == 400


def test_reset_and_version(server: BackgroundProxyServer) -> None:
    created = _call(server, "POST", "/proxies", {"name": "api", "upstream": UPSTREAM}).json()
    _call(server, "POST", "/proxies/api/toxics", {"type": "latency"})
    _call(server, "PATCH", "/proxies/api", {"enabled": False})
    assert _call(server, "POST", "/reset").status_code == 204
    after = _call(server, "GET", "/proxies/api").json()
    assert (after["enabled"], after["listen"], after["toxics"]) == (True, created["listen"], [])
    version = _call(server, "GET", "/version").json()["version"]
    assert version == API_VERSION
    assert tuple(int(part) for part in version.split(".")) >= (2, 6, 0)


def test_browsers_are_refused(server: BackgroundProxyServer) -> None:
    response = _call(server, "GET", "/proxies", headers={"User-Agent": "Mozilla/5.0"})
    assert response.status_code == 403


# The command line


def _start_cli(port: int) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "faults.proxy", "--host", "127.0.0.1", "--port", str(port)]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.fixture
def cli() -> Iterator[tuple[subprocess.Popen[str], str]]:
    process = _start_cli(0)
    try:
        assert process.stdout is not None
        readable, _, _ = select.select([process.stdout], [], [], PROCESS_WAIT_MAX_S)
        ready = process.stdout.readline().strip() if readable else ""
        yield process, ready
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=PROCESS_WAIT_MAX_S)


def test_cli_prints_ready_and_stops_cleanly_on_sigterm(
    cli: tuple[subprocess.Popen[str], str],
) -> None:
    process, ready = cli
    word, address = ready.split(" ")
    assert word == "ready" and address.startswith("127.0.0.1:") and _port(address) != 0
    url = f"http://{address}"
    assert requests.get(url + "/version", timeout=HTTP_TIMEOUT_S).json() == {"version": API_VERSION}
    # The kernel completes handshakes into the backlog: an upstream that never accepts will do.
    with socket.create_server(("127.0.0.1", 0)) as upstream:
        body = {"name": "api", "upstream": f"127.0.0.1:{upstream.getsockname()[1]}"}
        proxy = requests.post(url + "/proxies", json=body, timeout=HTTP_TIMEOUT_S).json()
        with socket.create_connection(
            ("127.0.0.1", _port(proxy["listen"])), timeout=HTTP_TIMEOUT_S
        ) as proxied:
            process.send_signal(signal.SIGTERM)
            assert process.wait(PROCESS_WAIT_MAX_S) == 0
            assert proxied.recv(1) == b""
    for port in (_port(address), _port(proxy["listen"])):
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=HTTP_TIMEOUT_S)


def test_cli_exits_3_when_the_api_port_is_taken(cli: tuple[subprocess.Popen[str], str]) -> None:
    _, ready = cli
    taken_port = _port(ready.split(" ")[1])
    second = _start_cli(taken_port)
    stdout, stderr = second.communicate(timeout=PROCESS_WAIT_MAX_S)
    assert second.returncode == 3
    assert stdout == ""
    assert stderr == (
        f"paychaos-proxy: cannot listen on 127.0.0.1:{taken_port}: address already in use\n"
    )
