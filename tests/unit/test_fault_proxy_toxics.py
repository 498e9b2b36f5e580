"""The fault proxy's data path: a transparent pipe, and each toxic's effect on live connections.

An echo server (or a greeter that says hello and hangs up) is the upstream; the proxy runs in
a background thread. Every socket has a timeout, so a broken proxy fails a test, never hangs it.
Time bounds are loose on the slow side: they check that a fault happened, not how fast CI is.

The helpers here (upstreams, the `Proxy` client, socket waits) are shared by the other
test_fault_proxy_* modules.
"""

from __future__ import annotations

import contextlib
import http.client
import http.server
import select
import socket
import socketserver
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol

import pytest
import requests

from faults.proxy import BackgroundProxyServer

SOCKET_TIMEOUT_S = 5.0
PROCESS_START_MAX_S = 15.0
QUIET_S = 0.3  # how long "no data arrives" is watched for
GREETING = b"hello\n"


class Echo(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        self.request.settimeout(SOCKET_TIMEOUT_S * 2)
        try:
            while data := self.request.recv(65536):
                self.request.sendall(data)
        except OSError:
            pass


class Greeter(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        self.request.sendall(GREETING)


class Recorder(socketserver.BaseRequestHandler):
    """Keeps every byte it receives, until the end of the stream, in `received`."""

    received = bytearray()

    def handle(self) -> None:
        self.request.settimeout(SOCKET_TIMEOUT_S * 2)
        try:
            while data := self.request.recv(65536):
                type(self).received += data
        except OSError:
            pass


class Flood(socketserver.BaseRequestHandler):
    """Sends until the peer stops taking data; `sent_byte_count` says how much it got out."""

    sent_byte_count = 0
    BLOCK = b"f" * 65536

    def handle(self) -> None:
        self.request.settimeout(SOCKET_TIMEOUT_S * 4)
        try:
            while True:
                self.request.sendall(self.BLOCK)
                type(self).sent_byte_count += len(self.BLOCK)
        except OSError:
            pass


class Upstream(socketserver.ThreadingTCPServer):
    daemon_threads = True
    # The default backlog of 5 drops handshakes when the proxy dials many connections at once.
    request_queue_size = 128


class Http(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the workload's HTTP clients use it

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: object) -> None:
        pass


def serve_upstream(handler: type[socketserver.BaseRequestHandler]) -> Iterator[str]:
    upstream = Upstream(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=upstream.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{upstream.server_address[1]}"
    finally:
        upstream.shutdown()
        upstream.server_close()


running_upstream = contextlib.contextmanager(serve_upstream)


@pytest.fixture
def echo() -> Iterator[str]:
    yield from serve_upstream(Echo)


@pytest.fixture
def greeter() -> Iterator[str]:
    yield from serve_upstream(Greeter)


@pytest.fixture
def web() -> Iterator[str]:
    yield from serve_upstream(Http)


@pytest.fixture
def server() -> Iterator[BackgroundProxyServer]:
    with BackgroundProxyServer() as running:
        yield running


class ApiServer(Protocol):
    """A running proxy server: in a thread (BackgroundProxyServer) or a process."""

    @property
    def url(self) -> str:
        """The API's base URL."""


@dataclass(frozen=True)
class ProxyProcess:
    """A proxy server running as `python -m faults.proxy` (or `paychaos proxy`)."""

    process: subprocess.Popen[str]
    address: str

    @property
    def url(self) -> str:
        return f"http://{self.address}"


@contextlib.contextmanager
def running_proxy_process(command: list[str]) -> Iterator[ProxyProcess]:
    """Run a proxy server command until the block ends; it must print `ready HOST:PORT`."""
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        readable, _, _ = select.select([process.stdout], [], [], PROCESS_START_MAX_S)
        words = process.stdout.readline().split() if readable else []
        assert len(words) == 2 and words[0] == "ready", f"{command} printed {words}"
        yield ProxyProcess(process, words[1])
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=PROCESS_START_MAX_S)


class Proxy:
    """A proxy on the test server, driven with plain HTTP calls."""

    def __init__(self, server: ApiServer, upstream: str, name: str = "echo") -> None:
        self.name = name
        self.url = f"{server.url}/proxies/{name}"
        body = {"name": name, "upstream": upstream, "listen": "127.0.0.1:0"}
        response = requests.post(server.url + "/proxies", json=body, timeout=SOCKET_TIMEOUT_S)
        assert response.status_code == 201
        self.port = int(response.json()["listen"].rsplit(":", 1)[1])

    def connect(self) -> socket.socket:
        return socket.create_connection(("127.0.0.1", self.port), timeout=SOCKET_TIMEOUT_S)

    def add_toxic(self, toxic_type: str, **body: object) -> str:
        body = {"type": toxic_type, **body}
        response = requests.post(self.url + "/toxics", json=body, timeout=SOCKET_TIMEOUT_S)
        assert response.status_code == 200, response.text
        return str(response.json()["name"])

    def update_toxic(self, name: str, **body: object) -> None:
        url = f"{self.url}/toxics/{name}"
        assert requests.patch(url, json=body, timeout=SOCKET_TIMEOUT_S).status_code == 200

    def remove_toxic(self, name: str) -> float:
        """Remove a toxic and return how long the API took to answer."""
        started = time.monotonic()
        response = requests.delete(f"{self.url}/toxics/{name}", timeout=SOCKET_TIMEOUT_S)
        assert response.status_code == 204
        return time.monotonic() - started

    def stats(self, name: str) -> dict[str, object]:
        """The proxy's own counters for the toxic called `name`."""
        response = requests.get(f"{self.url}/toxics/{name}/stats", timeout=SOCKET_TIMEOUT_S)
        assert response.status_code == 200, response.text
        return dict(response.json())

    def set_enabled(self, enabled: bool) -> None:
        response = requests.post(self.url, json={"enabled": enabled}, timeout=SOCKET_TIMEOUT_S)
        assert response.status_code == 200
        assert response.json()["enabled"] is enabled
        assert int(response.json()["listen"].rsplit(":", 1)[1]) == self.port


def wait_until(predicate: Callable[[], bool], *, timeout_s: float = SOCKET_TIMEOUT_S) -> None:
    """Poll `predicate` every 10 ms until it holds; fail the test after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, f"condition not met in {timeout_s} s"
        time.sleep(0.01)


def receive(sock: socket.socket, size: int) -> bytes:
    received = bytearray()
    while len(received) < size:
        data = sock.recv(size - len(received))
        if not data:
            break
        received += data
    return bytes(received)


def round_trip(sock: socket.socket, data: bytes) -> bytes:
    sock.sendall(data)
    return receive(sock, len(data))


def assert_quiet(sock: socket.socket) -> None:
    """Assert that nothing arrives, and the connection stays open, for QUIET_S."""
    sock.settimeout(QUIET_S)
    with pytest.raises(TimeoutError):
        sock.recv(1)
    sock.settimeout(SOCKET_TIMEOUT_S)


def seconds_until_closed(sock: socket.socket) -> float:
    """Wait for the end of the stream (no data before it) and return how long it took."""
    started = time.monotonic()
    assert sock.recv(1) == b""
    return time.monotonic() - started


@pytest.fixture
def proxy(server: BackgroundProxyServer, echo: str) -> Proxy:
    return Proxy(server, echo)


# A transparent pipe


def test_one_mebibyte_comes_back_exactly(proxy: Proxy) -> None:
    data = bytes(range(256)) * 4096
    with proxy.connect() as sock:
        sock.sendall(data[:1])
        # Send from a thread: the echo cannot drain 1 MiB unless someone reads meanwhile.
        sender = threading.Thread(target=sock.sendall, args=(data[1:],))
        sender.start()
        received = receive(sock, len(data))
        sender.join(SOCKET_TIMEOUT_S)
    assert received == data


def test_many_concurrent_connections(proxy: Proxy) -> None:
    sockets = [proxy.connect() for _ in range(64)]
    try:
        for index, sock in enumerate(sockets):
            sock.sendall(b"%05d" % index)
        assert [receive(sock, 5) for sock in sockets] == [b"%05d" % i for i in range(64)]
    finally:
        for sock in sockets:
            sock.close()


def test_an_upstream_that_hangs_up_closes_the_client(
    server: BackgroundProxyServer, greeter: str
) -> None:
    greeted = Proxy(server, greeter)
    with greeted.connect() as sock:
        assert receive(sock, len(GREETING)) == GREETING
        assert seconds_until_closed(sock) < 1.0


def test_a_half_close_ends_the_whole_connection(proxy: Proxy) -> None:
    with proxy.connect() as sock:
        assert round_trip(sock, b"ping") == b"ping"
        sock.shutdown(socket.SHUT_WR)
        assert seconds_until_closed(sock) < 1.0


def test_an_unreachable_upstream_closes_the_client_at_once(server: BackgroundProxyServer) -> None:
    with socket.create_server(("127.0.0.1", 0)) as placeholder:
        closed_port = placeholder.getsockname()[1]
    unreachable = Proxy(server, f"127.0.0.1:{closed_port}")
    with unreachable.connect() as sock:
        assert seconds_until_closed(sock) < 1.0


# latency


def test_latency_delays_each_answer(proxy: Proxy) -> None:
    with proxy.connect() as sock:
        proxy.add_toxic("latency", attributes={"latency": 300})
        started = time.monotonic()
        assert round_trip(sock, b"ping") == b"ping"
        assert 0.3 <= time.monotonic() - started < 2.0
        proxy.add_toxic("latency", stream="upstream", attributes={"latency": 200})
        started = time.monotonic()
        assert round_trip(sock, b"ping") == b"ping"
        assert 0.5 <= time.monotonic() - started < 2.5


def test_removing_latency_lets_held_data_go_at_once(proxy: Proxy) -> None:
    with proxy.connect() as sock:
        name = proxy.add_toxic("latency", attributes={"latency": 60_000})
        sock.sendall(b"ping")
        assert_quiet(sock)
        started = time.monotonic()
        assert proxy.remove_toxic(name) < 1.0
        assert receive(sock, 4) == b"ping"
        assert time.monotonic() - started < 1.0


def test_updating_latency_applies_to_an_open_connection(proxy: Proxy) -> None:
    with proxy.connect() as sock:
        name = proxy.add_toxic("latency", attributes={"latency": 400})
        proxy.update_toxic(name, attributes={"latency": 0})
        started = time.monotonic()
        assert round_trip(sock, b"ping") == b"ping"
        assert time.monotonic() - started < 0.3


# timeout


def test_timeout_on_an_open_connection_drops_data_then_closes(proxy: Proxy) -> None:
    with proxy.connect() as sock:
        assert round_trip(sock, b"before") == b"before"
        proxy.add_toxic("timeout", attributes={"timeout": 500})
        sock.sendall(b"after")
        assert 0.4 <= seconds_until_closed(sock) < 2.0


def test_timeout_drops_a_request_on_an_open_keep_alive_connection(
    server: BackgroundProxyServer, web: str
) -> None:
    proxied = Proxy(server, web)
    client = http.client.HTTPConnection("127.0.0.1", proxied.port, timeout=SOCKET_TIMEOUT_S)
    try:
        client.request("GET", "/")
        assert client.getresponse().read() == b"ok"
        kept_alive = client.sock
        proxied.add_toxic("timeout", attributes={"timeout": 500})
        started = time.monotonic()
        client.request("GET", "/")
        assert client.sock is kept_alive
        with pytest.raises(http.client.RemoteDisconnected):
            client.getresponse()
        assert 0.4 <= time.monotonic() - started < 2.0
    finally:
        client.close()


def test_removing_a_timeout_closes_the_connections_it_held(proxy: Proxy) -> None:
    with proxy.connect() as held:
        assert round_trip(held, b"ping") == b"ping"
        name = proxy.add_toxic("timeout", attributes={"timeout": 0})
        held.sendall(b"dropped")
        assert_quiet(held)
        assert proxy.remove_toxic(name) < 1.0
        assert seconds_until_closed(held) < 1.0
    with proxy.connect() as fresh:
        assert round_trip(fresh, b"ping") == b"ping"


def test_a_timeout_that_lost_the_toxicity_roll_changes_nothing(proxy: Proxy) -> None:
    name = proxy.add_toxic("timeout", toxicity=0.0, attributes={"timeout": 100})
    with proxy.connect() as sock:
        assert round_trip(sock, b"ping") == b"ping"
        proxy.remove_toxic(name)
        assert round_trip(sock, b"pong") == b"pong"


# reset_peer


def test_reset_peer_resets_the_client(proxy: Proxy) -> None:
    proxy.add_toxic("reset_peer", attributes={"timeout": 0})
    with proxy.connect() as sock:
        sock.sendall(b"ping")
        with pytest.raises(ConnectionResetError):
            sock.recv(4)


def test_reset_peer_waits_for_its_timeout(proxy: Proxy) -> None:
    with proxy.connect() as sock:
        assert round_trip(sock, b"ping") == b"ping"
        proxy.add_toxic("reset_peer", stream="upstream", attributes={"timeout": 300})
        started = time.monotonic()
        sock.sendall(b"ping")
        with pytest.raises(ConnectionResetError):
            sock.recv(4)
        assert 0.25 <= time.monotonic() - started < 2.0


def test_reset_peer_that_lost_the_toxicity_roll_changes_nothing(
    server: BackgroundProxyServer, greeter: str
) -> None:
    greeted = Proxy(server, greeter)
    greeted.add_toxic("reset_peer", toxicity=0.0, attributes={"timeout": 0})
    with greeted.connect() as sock:
        assert receive(sock, len(GREETING)) == GREETING
        assert seconds_until_closed(sock) < 1.0  # the greeter's FIN, not a reset


# enabled / disabled


def test_disable_closes_and_refuses_then_enable_accepts_on_the_same_port(proxy: Proxy) -> None:
    proxy.add_toxic("noop")
    with proxy.connect() as open_before:
        assert round_trip(open_before, b"ping") == b"ping"
        proxy.set_enabled(False)
        assert seconds_until_closed(open_before) < 1.0
    with pytest.raises(ConnectionRefusedError):
        proxy.connect()
    proxy.set_enabled(True)
    with proxy.connect() as open_after:
        assert round_trip(open_after, b"ping") == b"ping"
    listing = requests.get(proxy.url + "/toxics", timeout=SOCKET_TIMEOUT_S).json()
    assert [toxic["name"] for toxic in listing] == ["noop_downstream"]


# The other Toxiproxy toxics


def test_bandwidth_paces_the_link(proxy: Proxy) -> None:
    proxy.add_toxic("bandwidth", attributes={"rate": 100})  # 100 KB/s
    data = b"x" * 50_000
    with proxy.connect() as sock:
        started = time.monotonic()
        assert round_trip(sock, data) == data
        assert 0.4 <= time.monotonic() - started < 3.0


def test_bandwidth_zero_holds_data_until_removed(proxy: Proxy) -> None:
    name = proxy.add_toxic("bandwidth", attributes={"rate": 0})
    with proxy.connect() as sock:
        sock.sendall(b"ping")
        assert_quiet(sock)
        proxy.remove_toxic(name)
        assert receive(sock, 4) == b"ping"


def test_limit_data_closes_after_the_limit(proxy: Proxy) -> None:
    proxy.add_toxic("limit_data", attributes={"bytes": 6})
    with proxy.connect() as sock:
        sock.sendall(b"0123456789")
        assert receive(sock, 10) == b"012345"
        assert seconds_until_closed(sock) < 1.0


def test_slicer_keeps_every_byte_in_order(proxy: Proxy) -> None:
    attributes = {"average_size": 7, "size_variation": 3, "delay": 100}
    proxy.add_toxic("slicer", attributes=attributes)
    data = bytes(range(256)) * 16
    with proxy.connect() as sock:
        assert round_trip(sock, data) == data


def test_slow_close_delays_the_close(server: BackgroundProxyServer, greeter: str) -> None:
    greeted = Proxy(server, greeter)
    greeted.add_toxic("slow_close", attributes={"delay": 400})
    with greeted.connect() as sock:
        started = time.monotonic()
        assert receive(sock, len(GREETING)) == GREETING
        assert sock.recv(1) == b""
        assert 0.35 <= time.monotonic() - started < 2.0
