"""Each toxic's effect, measured on a live connection, and what the proxy's sockets promise.

Lower time bounds are exact (a toxic never acts early); upper bounds leave room for a loaded
2-core machine. Every wait is bounded.
"""

from __future__ import annotations

import contextlib
import os
import socket
import statistics
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from faults.proxy import BackgroundProxyServer
from faults.proxy.connection import CONNECTION_MEMORY_BYTES_MAX
from tests.unit.test_fault_proxy_toxics import (
    Echo,
    Flood,
    Greeter,
    Proxy,
    Recorder,
    assert_quiet,
    receive,
    round_trip,
    running_upstream,
    seconds_until_closed,
    serve_upstream,
    wait_until,
)

SLACK_S = 0.25  # how late an effect may come on a loaded machine
ESTABLISHED = "01"  # the state field of /proc/net/tcp
LOOPBACK_HEX = "0100007F"  # 127.0.0.1 as /proc/net/tcp writes it


@pytest.fixture(params=["uvloop", "asyncio"])
def server(request: pytest.FixtureRequest) -> Iterator[BackgroundProxyServer]:
    with BackgroundProxyServer(loop=request.param) as running:
        yield running


@pytest.fixture
def echo() -> Iterator[str]:
    yield from serve_upstream(Echo)


@pytest.fixture
def proxy(server: BackgroundProxyServer, echo: str) -> Proxy:
    return Proxy(server, echo)


def _timed_round_trip(sock: socket.socket, data: bytes = b"ping") -> float:
    started = time.monotonic()
    assert round_trip(sock, data) == data
    return time.monotonic() - started


# latency


def test_latency_is_observed_within_bounds(proxy: Proxy) -> None:
    proxy.add_toxic("latency", attributes={"latency": 150})
    with proxy.connect() as sock:
        delays = [_timed_round_trip(sock) for _ in range(5)]
    assert min(delays) >= 0.150
    assert statistics.median(delays) < 0.150 + SLACK_S


def test_jitter_spreads_delays_around_the_latency(proxy: Proxy) -> None:
    proxy.add_toxic("latency", attributes={"latency": 100, "jitter": 60})
    with proxy.connect() as sock:
        delays = [_timed_round_trip(sock) for _ in range(12)]
    assert min(delays) >= 0.040
    assert max(delays) < 0.160 + SLACK_S
    # Twelve uniform draws over ±60 ms: a spread under 20 ms has odds below 1e-6.
    assert max(delays) - min(delays) > 0.020


def test_upstream_and_downstream_latencies_add_up(proxy: Proxy) -> None:
    proxy.add_toxic("latency", stream="upstream", attributes={"latency": 100})
    proxy.add_toxic("latency", stream="downstream", attributes={"latency": 100})
    with proxy.connect() as sock:
        delay = _timed_round_trip(sock)
    assert 0.200 <= delay < 0.200 + SLACK_S


# bandwidth


def test_bandwidth_rate_is_observed(proxy: Proxy) -> None:
    proxy.add_toxic("bandwidth", attributes={"rate": 400})  # 400 KB/s
    data = b"b" * 400_000
    with proxy.connect() as sock:
        seconds = _timed_round_trip(sock, data)
    # 400,000 B at 400,000 B/s: one second, never faster.
    assert 0.95 <= seconds < 1.0 + 2 * SLACK_S


def test_upstream_bandwidth_zero_holds_data_until_removed(proxy: Proxy) -> None:
    name = proxy.add_toxic("bandwidth", stream="upstream", attributes={"rate": 0})
    with proxy.connect() as sock:
        sock.sendall(b"ping")
        assert_quiet(sock)
        proxy.remove_toxic(name)
        assert receive(sock, 4) == b"ping"


# slow_close, timeout, reset_peer


def test_slow_close_delay_is_observed(server: BackgroundProxyServer) -> None:
    with running_upstream(Greeter) as upstream:
        greeted = Proxy(server, upstream)
        greeted.add_toxic("slow_close", attributes={"delay": 300})
        with greeted.connect() as sock:
            started = time.monotonic()
            assert receive(sock, 6) == b"hello\n"
            assert sock.recv(1) == b""
            assert 0.300 <= time.monotonic() - started < 0.300 + SLACK_S


def test_timeout_is_silent_then_closes_after_its_time(proxy: Proxy) -> None:
    proxy.add_toxic("timeout", attributes={"timeout": 400})
    with proxy.connect() as sock:
        started = time.monotonic()
        sock.sendall(b"dropped")
        assert sock.recv(1) == b""  # nothing comes back before the close
        assert 0.400 <= time.monotonic() - started < 0.400 + SLACK_S
    assert proxy.stats("timeout_downstream")["connections_affected"] == 1


def test_removing_a_timeout_closes_only_the_connections_it_affected(proxy: Proxy) -> None:
    with proxy.connect() as held:
        name = proxy.add_toxic("timeout", attributes={"timeout": 0})
        held.sendall(b"dropped")
        assert_quiet(held)
        proxy.update_toxic(name, toxicity=0.0)  # a re-roll that spares the connection...
        assert round_trip(held, b"ping") == b"ping"  # ...lets data through again
        proxy.update_toxic(name, toxicity=1.0)
        proxy.remove_toxic(name)
        assert seconds_until_closed(held) < 1.0


def test_reset_peer_is_seen_as_econnreset(proxy: Proxy) -> None:
    proxy.add_toxic("reset_peer", attributes={"timeout": 200})
    with proxy.connect() as sock:
        started = time.monotonic()
        sock.sendall(b"ping")
        with pytest.raises(ConnectionResetError):
            sock.recv(4)
        assert 0.200 <= time.monotonic() - started < 0.200 + SLACK_S


# slicer, limit_data


def test_slicer_pieces_are_seen_apart(proxy: Proxy) -> None:
    attributes = {"average_size": 10, "size_variation": 0, "delay": 20_000}  # 20 ms apart
    proxy.add_toxic("slicer", attributes=attributes)
    data = bytes(range(100))
    pieces: list[bytes] = []
    with proxy.connect() as sock:
        started = time.monotonic()
        sock.sendall(data)
        while sum(map(len, pieces)) < len(data):
            piece = sock.recv(len(data))
            assert piece, "the connection closed early"
            pieces.append(piece)
        elapsed = time.monotonic() - started
    assert b"".join(pieces) == data
    # 100 B halved until <= 10 B: 16 pieces of 6-7 B, each 20 ms after the one before.
    # A few may meet in the socket if the reader is late (a busy machine): most stay apart.
    assert statistics.median(map(len, pieces)) <= 10
    assert len(pieces) >= 12
    assert elapsed >= 15 * 0.020


def test_limit_data_cuts_upstream_at_the_limit_then_closes(
    server: BackgroundProxyServer,
) -> None:
    recorder = type("CountedRecorder", (Recorder,), {"received": bytearray()})
    with running_upstream(recorder) as upstream:
        recorded = Proxy(server, upstream)
        recorded.add_toxic("limit_data", stream="upstream", attributes={"bytes": 1000})
        with recorded.connect() as sock:
            sock.sendall(b"a" * 600)
            sock.sendall(b"b" * 600)
            assert seconds_until_closed(sock) < 1.0
        wait_until(lambda: len(recorder.received) >= 1000, timeout_s=2.0)
        assert recorder.received == b"a" * 600 + b"b" * 400


def test_limit_data_cuts_downstream_at_the_limit_then_closes(proxy: Proxy) -> None:
    proxy.add_toxic("limit_data", attributes={"bytes": 1000})
    with proxy.connect() as sock:
        sock.sendall(b"a" * 600)
        assert receive(sock, 600) == b"a" * 600
        sock.sendall(b"b" * 600)
        assert receive(sock, 600) == b"b" * 400  # cut at 1000, then the end of the stream
        assert seconds_until_closed(sock) < 1.0


# A long chain


# Toxics that pass every byte on, each taking its own step of the chain.
PASS_THROUGH_TOXICS = [
    ("noop", {}),
    ("latency", {"latency": 0}),
    ("slicer", {"average_size": 4096, "size_variation": 1024, "delay": 0}),
    ("bandwidth", {"rate": 10**9}),
    ("limit_data", {"bytes": 10**12}),
]


def test_a_chain_of_1000_toxics_on_one_link_carries_bytes_in_order(proxy: Proxy) -> None:
    for index in range(1000):
        toxic_type, attributes = PASS_THROUGH_TOXICS[index % len(PASS_THROUGH_TOXICS)]
        proxy.add_toxic(toxic_type, name=f"t{index}", stream="upstream", attributes=attributes)
    proxy.add_toxic("latency", name="last", stream="upstream", attributes={"latency": 100})
    data = bytes(range(256)) * 256
    with proxy.connect() as sock:
        started = time.monotonic()
        assert round_trip(sock, data) == data
        assert time.monotonic() - started >= 0.100  # the toxic at the end still acts


# Half-close


def test_half_close_under_latency_delivers_the_held_reply(proxy: Proxy) -> None:
    name = proxy.add_toxic("latency", attributes={"latency": 300})
    with proxy.connect() as sock:
        started = time.monotonic()
        sock.sendall(b"ping")
        # The reply is back from the echo and held by the toxic, then the client sends FIN.
        wait_until(lambda: proxy.stats(name)["bytes_affected"] == 4)
        sock.shutdown(socket.SHUT_WR)
        assert receive(sock, 4) == b"ping"
        assert time.monotonic() - started >= 0.300
        assert seconds_until_closed(sock) < 1.0


# Sockets


def _own_socket_inodes() -> set[str]:
    inodes = set()
    for descriptor in Path("/proc/self/fd").iterdir():
        with contextlib.suppress(OSError):  # a descriptor closed while the loop runs
            target = os.readlink(descriptor)
            if target.startswith("socket:["):
                inodes.add(target.removeprefix("socket:[").removesuffix("]"))
    return inodes


def _own_established_timers() -> dict[tuple[int, int], int]:
    """(local port, remote port) -> the timer field of each established 127.0.0.1 socket this
    process holds.

    Other processes' sockets, and closed ones in TIME_WAIT (no inode), can hold the same
    ports: they are left out, so each key names one socket.
    """
    inodes = _own_socket_inodes()
    timers = {}
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        (local_host, local), (remote_host, remote) = (f.split(":") for f in fields[1:3])
        loopback = local_host == remote_host == LOOPBACK_HEX
        if loopback and fields[3] == ESTABLISHED and fields[9] in inodes:
            timers[(int(local, 16), int(remote, 16))] = int(fields[5].split(":")[0], 16)
    return timers


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="reads Linux's /proc/net/tcp")
def test_tcp_keepalive_is_on_for_accepted_and_dialled_sockets(proxy: Proxy, echo: str) -> None:
    # /proc/net/tcp shows timer 2 for an idle socket whose keepalive timer runs, 0 without,
    # and 1 while a segment waits for its acknowledgement. The proxy runs in this process
    # and is the only one here to dial the echo.
    echo_port = int(echo.rsplit(":", 1)[1])
    with proxy.connect() as sock:
        assert round_trip(sock, b"ping") == b"ping"
        client_port = sock.getsockname()[1]

        def idle_timers() -> tuple[int | None, list[int], int | None]:
            timers = _own_established_timers()
            accepted = timers.get((proxy.port, client_port))
            client = timers.get((client_port, proxy.port))
            dialled = [timer for (_, remote), timer in timers.items() if remote == echo_port]
            return accepted, dialled, client

        wait_until(lambda: idle_timers() == (2, [2], 0), timeout_s=10.0)


def test_a_stuck_connection_holds_a_bounded_amount(server: BackgroundProxyServer) -> None:
    flood = type("CountedFlood", (Flood,), {"sent_byte_count": 0})
    with running_upstream(flood) as upstream:
        flooded = Proxy(server, upstream)
        with flooded.connect():  # never read

            def stalled() -> bool:
                before = flood.sent_byte_count
                time.sleep(0.3)
                return flood.sent_byte_count == before

            wait_until(stalled, timeout_s=20.0)
        # The kernel's socket buffers (four of them: flood, proxy x 2, client) come on top of
        # what the proxy holds; tcp_rmem and tcp_wmem say how large they may grow.
        kernel_bytes = 0
        for name in ("tcp_rmem", "tcp_wmem"):
            maximum = int(Path(f"/proc/sys/net/ipv4/{name}").read_text().split()[2])
            kernel_bytes += 2 * maximum
        assert flood.sent_byte_count <= CONNECTION_MEMORY_BYTES_MAX + kernel_bytes


def test_an_open_connection_survives_unrelated_api_calls(proxy: Proxy) -> None:
    with proxy.connect() as sock:
        proxy.add_toxic("noop", toxicity=0.5)
        proxy.update_toxic("noop_downstream", toxicity=1.0)
        assert round_trip(sock, b"x" * 70_000) == b"x" * 70_000
        proxy.remove_toxic("noop_downstream")
        assert round_trip(sock, b"y" * 70_000) == b"y" * 70_000
