"""Benchmark of the fault proxy beside a direct loopback connection, measured in one run.

    .venv/bin/python -m tests.benchmarks.proxy [--loops uvloop,asyncio] [--megabytes 256]

Starts an echo server and one proxy server per event loop as subprocesses (so that the
client's own Python does not share a GIL with them), then measures, for the direct connection
and through each proxy:

- plain throughput: bulk echo of N MiB, one sender thread and one receiver;
- throughput through a 50 ms downstream latency toxic;
- round-trip times of 100-byte records sent at 500 records/s through a 100 ms latency toxic;
- the round-trip p50 of 64-byte ping-pongs without toxics, in rounds alternating with direct
  ones (the proxy's added time is the median of the per-round differences).

It prints a Markdown table with the goals of issue 7. Figures on a shared machine are noisy:
compare the ratios, which are measured in the same run. `--serve-echo` is the echo server's
own entry point.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import select
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import requests

from faults.proxy import loop as event_loop

PROCESS_START_MAX_S = 20.0
SOCKET_TIMEOUT_S = 30.0
HTTP_TIMEOUT_S = 5.0
BLOCK_SIZE = 256 * 1024
MEBIBYTE = 1024 * 1024
THROUGHPUT_LATENCY_MS = 50
RECORD_LATENCY_MS = 100
RECORD_RATE_PER_S = 500
RECORD_COUNT = 1000
RECORD_SIZE = 100
PING_COUNT = 400  # per round
PING_ROUND_COUNT = 5
PING_SIZE = 64
THROUGHPUT_REPEAT_COUNT = 5  # medians of five runs even out a neighbour's burst


# The echo server (a subprocess)


class _Echo(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: asyncio.Transport = transport  # type: ignore[assignment]
        self.transport.set_write_buffer_limits(high=1024 * 1024)

    def data_received(self, data: bytes) -> None:
        self.transport.write(data)

    def pause_writing(self) -> None:
        self.transport.pause_reading()

    def resume_writing(self) -> None:
        self.transport.resume_reading()

    def eof_received(self) -> bool:
        return False


async def _serve_echo() -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(_Echo, "127.0.0.1", 0, backlog=1024)
    print(f"ready 127.0.0.1:{server.sockets[0].getsockname()[1]}", flush=True)
    await asyncio.Event().wait()


# Subprocesses


@contextlib.contextmanager
def _process(command: list[str]) -> Iterator[str]:
    """Run `command` until the block ends; yield the HOST:PORT of its `ready` line."""
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        readable, _, _ = select.select([process.stdout], [], [], PROCESS_START_MAX_S)
        line = process.stdout.readline().split() if readable else []
        if len(line) != 2 or line[0] != "ready":
            raise RuntimeError(f"{command} did not start: {line}")
        yield line[1]
    finally:
        process.terminate()
        try:
            process.wait(PROCESS_START_MAX_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _split(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    return host, int(port)


class _ProxyApi:
    def __init__(self, api: str, upstream: str) -> None:
        self.url = f"http://{api}"
        self.upstream = upstream
        self._count = 0

    def new_proxy(self, toxic: dict[str, object] | None = None) -> tuple[str, int]:
        self._count += 1
        name = f"bench{self._count}"
        body = {"name": name, "upstream": self.upstream, "listen": "127.0.0.1:0"}
        answer = requests.post(self.url + "/proxies", json=body, timeout=HTTP_TIMEOUT_S)
        answer.raise_for_status()
        if toxic is not None:
            url = f"{self.url}/proxies/{name}/toxics"
            requests.post(url, json=toxic, timeout=HTTP_TIMEOUT_S).raise_for_status()
        return _split(answer.json()["listen"])


def _latency(milliseconds: int) -> dict[str, object]:
    return {"type": "latency", "stream": "downstream", "attributes": {"latency": milliseconds}}


# Measurements (a blocking client)


def _connect(address: tuple[str, int]) -> socket.socket:
    sock = socket.create_connection(address, timeout=SOCKET_TIMEOUT_S)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def _throughput_once(address: tuple[str, int], total: int) -> float:
    """Echo `total` bytes; return MB/s (10**6 B) from the first send to the last byte back."""
    block = b"\x5a" * BLOCK_SIZE
    buffer = bytearray(BLOCK_SIZE)
    with _connect(address) as sock:

        def send() -> None:
            for _ in range(total // BLOCK_SIZE):
                sock.sendall(block)

        sender = threading.Thread(target=send, daemon=True)
        started = time.perf_counter()
        sender.start()
        received = 0
        while received < total:
            count = sock.recv_into(buffer)
            if count == 0:
                raise RuntimeError(f"connection closed after {received} of {total} bytes")
            received += count
        elapsed = time.perf_counter() - started
        sender.join(SOCKET_TIMEOUT_S)
    return total / elapsed / 1e6


def _receive_exactly(sock: socket.socket, size: int) -> bytes:
    data = bytearray()
    while len(data) < size:
        piece = sock.recv(size - len(data))
        if not piece:
            raise RuntimeError("connection closed early")
        data += piece
    return bytes(data)


def _record_round_trips(address: tuple[str, int]) -> list[float]:
    """Send records at RECORD_RATE_PER_S; return each one's round trip in ms."""
    sent_at: list[float] = [0.0] * RECORD_COUNT
    with _connect(address) as sock:

        def send() -> None:
            start = time.perf_counter()
            for index in range(RECORD_COUNT):
                due = start + index / RECORD_RATE_PER_S
                with contextlib.suppress(ValueError):
                    time.sleep(max(0.0, due - time.perf_counter()))
                sent_at[index] = time.perf_counter()
                sock.sendall(index.to_bytes(4, "big") * (RECORD_SIZE // 4))

        sender = threading.Thread(target=send, daemon=True)
        sender.start()
        round_trips = []
        for index in range(RECORD_COUNT):
            record = _receive_exactly(sock, RECORD_SIZE)
            arrived = time.perf_counter()
            assert int.from_bytes(record[:4], "big") == index, "records come back in order"
            round_trips.append((arrived - sent_at[index]) * 1000)
        sender.join(SOCKET_TIMEOUT_S)
    return round_trips


def _ping_p50_us(sock: socket.socket) -> float:
    message = b"p" * PING_SIZE
    times = []
    for _ in range(PING_COUNT):
        started = time.perf_counter()
        sock.sendall(message)
        _receive_exactly(sock, PING_SIZE)
        times.append((time.perf_counter() - started) * 1e6)
    return statistics.median(times)


def _ping_rounds(
    direct: tuple[str, int], proxies: dict[str, tuple[str, int]]
) -> tuple[float, dict[str, float], dict[str, float]]:
    """Ping direct and through each proxy in alternating rounds; return the direct p50, each
    proxy's p50, and each proxy's added time (the median of its per-round differences)."""
    with contextlib.ExitStack() as stack:
        direct_sock = stack.enter_context(_connect(direct))
        sockets = {name: stack.enter_context(_connect(target)) for name, target in proxies.items()}
        direct_p50s: list[float] = []
        p50s: dict[str, list[float]] = {name: [] for name in proxies}
        for _ in range(PING_ROUND_COUNT):
            direct_p50s.append(_ping_p50_us(direct_sock))
            for name, sock in sockets.items():
                p50s[name].append(_ping_p50_us(sock))
    added = {
        name: statistics.median(via - bare for via, bare in zip(runs, direct_p50s, strict=True))
        for name, runs in p50s.items()
    }
    medians = {name: statistics.median(runs) for name, runs in p50s.items()}
    return statistics.median(direct_p50s), medians, added


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


@dataclass
class Figures:
    """What one proxy measured; each ratio is the median of ratios of runs made side by side."""

    plain_mb_s: float
    plain_ratio: float  # to direct
    latency_mb_s: float
    latency_ratio: float  # to plain through the same proxy
    record_p50_ms: float
    record_p95_ms: float
    record_max_ms: float
    ping_p50_us: float
    ping_added_us: float  # to direct


@dataclass
class _Targets:
    """The addresses one proxy server offers for each measurement."""

    plain: tuple[str, int]
    latency: tuple[str, int]
    records: tuple[str, int]

    @classmethod
    def create(cls, api: _ProxyApi) -> _Targets:
        return cls(
            plain=api.new_proxy(),
            latency=api.new_proxy(_latency(THROUGHPUT_LATENCY_MS)),
            records=api.new_proxy(_latency(RECORD_LATENCY_MS)),
        )


def _measure(
    direct: tuple[str, int], proxies: dict[str, _Targets], total: int
) -> tuple[float, float, dict[str, Figures]]:
    """Measure everything; throughput runs interleave direct, plain and latency runs, so that a
    neighbour's burst on this shared machine lands on both sides of a ratio."""
    direct_runs: list[float] = []
    plain_runs: dict[str, list[float]] = {name: [] for name in proxies}
    latency_runs: dict[str, list[float]] = {name: [] for name in proxies}
    for _ in range(THROUGHPUT_REPEAT_COUNT):
        direct_runs.append(_throughput_once(direct, total))
        for name, targets in proxies.items():
            plain_runs[name].append(_throughput_once(targets.plain, total))
            latency_runs[name].append(_throughput_once(targets.latency, total))
    direct_ping, pings, added = _ping_rounds(
        direct, {name: targets.plain for name, targets in proxies.items()}
    )
    figures = {}
    for name, targets in proxies.items():
        round_trips = _record_round_trips(targets.records)
        plain, latency = plain_runs[name], latency_runs[name]
        figures[name] = Figures(
            plain_mb_s=statistics.median(plain),
            plain_ratio=statistics.median(
                via / bare for via, bare in zip(plain, direct_runs, strict=True)
            ),
            latency_mb_s=statistics.median(latency),
            latency_ratio=statistics.median(
                slow / fast for slow, fast in zip(latency, plain, strict=True)
            ),
            record_p50_ms=statistics.median(round_trips),
            record_p95_ms=_percentile(round_trips, 0.95),
            record_max_ms=max(round_trips),
            ping_p50_us=pings[name],
            ping_added_us=added[name],
        )
    return statistics.median(direct_runs), direct_ping, figures


def _table(direct_mb_s: float, direct_ping_us: float, proxies: dict[str, Figures]) -> str:
    names = list(proxies)
    figures = list(proxies.values())
    rows = [
        "| measure | direct | " + " | ".join(f"proxy ({name})" for name in names) + " | goal |",
        "|---|---|" + "---|" * len(names) + "---|",
    ]

    def row(label: str, direct_text: str, cells: list[str], goal: str) -> None:
        rows.append(f"| {label} | {direct_text} | " + " | ".join(cells) + f" | {goal} |")

    row(
        "plain echo MB/s (ratio to direct)",
        f"{direct_mb_s:.0f}",
        [f"{f.plain_mb_s:.0f} ({f.plain_ratio:.2f})" for f in figures],
        "ratio >= 0.5",
    )
    row(
        f"echo through {THROUGHPUT_LATENCY_MS} ms latency MB/s (ratio to plain)",
        "",
        [f"{f.latency_mb_s:.0f} ({f.latency_ratio:.2f})" for f in figures],
        "ratio >= 0.5",
    )
    row(
        f"round trip at {RECORD_RATE_PER_S}/s through {RECORD_LATENCY_MS} ms, p50 / p95 / max ms",
        "",
        [f"{f.record_p50_ms:.1f} / {f.record_p95_ms:.1f} / {f.record_max_ms:.1f}" for f in figures],
        f"p95 <= {RECORD_LATENCY_MS + 5}",
    )
    row(
        "ping-pong p50 µs (added to direct)",
        f"{direct_ping_us:.0f}",
        [f"{f.ping_p50_us:.0f} ({f.ping_added_us:+.0f})" for f in figures],
        "added <= 200",
    )
    return "\n".join(rows)


def _parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.benchmarks.proxy", description=__doc__)
    parser.add_argument(
        "--loops",
        default="uvloop,asyncio",
        help="event loops to run the proxy on, comma-separated (default %(default)s)",
    )
    parser.add_argument("--megabytes", type=int, default=256, help="MiB echoed per throughput run")
    parser.add_argument("--serve-echo", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    arguments = _parse_arguments(argv)
    if arguments.serve_echo:
        event_loop.run(_serve_echo())
        return 0
    loops = [name.strip() for name in arguments.loops.split(",") if name.strip()]
    unknown = sorted(set(loops) - set(event_loop.LOOP_FACTORIES))
    if unknown:
        print(f"unknown loop(s) {unknown}; choose from {sorted(event_loop.LOOP_FACTORIES)}")
        return 3
    total = arguments.megabytes * MEBIBYTE
    python = sys.executable
    with contextlib.ExitStack() as stack:
        echo = stack.enter_context(
            _process([python, "-m", "tests.benchmarks.proxy", "--serve-echo"])
        )
        proxies = {}
        for name in loops:
            command = [python, "-m", "faults.proxy", "--port", "0", "--seed", "1", "--loop", name]
            api = stack.enter_context(_process([*command, "--log-level", "warning"]))
            proxies[name] = _Targets.create(_ProxyApi(api, echo))
        direct_mb_s, direct_ping_us, figures = _measure(_split(echo), proxies, total)
    print(_table(direct_mb_s, direct_ping_us, figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
