"""Bounds that keep slow or greedy clients from holding an aiohttp server: a client that
sends its headers a byte at a time, one that announces a longer body than it sends, one that
opens connections without end.

Every server of the project (the API and the admin endpoints, the card network simulator, the
fault proxy's API) names its own numbers in a `ServerBounds`; this package is only the
mechanism, and it imports nothing of the project, so that the simulator (an independent oracle)
and the proxy (a program of its own) use it as they use aiohttp.

- Headers: aiohttp's own keep-alive timer. aiohttp (3.14) has no header timeout, but the timer
  runs from a connection's start, and from the end of each answer, until the next request's
  headers are complete, and closes the connection if they are not by then; so
  `keepalive_timeout=header_read_timeout_s` bounds the headers. It also closes an idle
  keep-alive connection after that time: the bound must exceed the clients' own keep-alive
  (aiohttp's client drops an idle connection after 15 s), or a client could send a request on a
  connection the server is closing.
- Bodies: aiohttp has no body timeout. A request whose body has not all arrived within
  `body_read_timeout_s` of its headers has its connection closed, as if the client had gone:
  aiohttp ends the request's reads with ConnectionResetError, the path of any client that
  disconnects mid-body.
- Connections: a site that holds at most `connections_per_address_max` connections per client
  address at once and aborts any beyond (aiohttp has no such limit).
"""

import asyncio
import logging
import signal
from collections import Counter
from dataclasses import dataclass

from aiohttp import web

__all__ = ["BoundedSite", "ServerBounds", "bounded_runner", "run_bounded"]

log = logging.getLogger("http_bounds")


@dataclass(frozen=True)
class ServerBounds:
    """One server's bounds on its clients' slowness and connections."""

    header_read_timeout_s: float
    body_read_timeout_s: float
    connections_per_address_max: int


def bounded_runner(app: web.Application, bounds: ServerBounds, **options) -> web.AppRunner:
    """An AppRunner of `app` (with `options`) that bounds header and body reads by `bounds`;
    serve it on a `BoundedSite`."""
    app.middlewares.insert(0, _body_deadline(bounds.body_read_timeout_s))
    return web.AppRunner(app, keepalive_timeout=bounds.header_read_timeout_s, **options)


def _body_deadline(timeout_s: float):
    @web.middleware
    async def body_deadline(request: web.Request, handler) -> web.StreamResponse:
        # A body that came with its headers (or no body) needs no watch.
        if request.content.is_eof():
            return await handler(request)
        watch = asyncio.get_running_loop().call_later(timeout_s, _close_if_incomplete, request)
        try:
            return await handler(request)
        finally:
            watch.cancel()

    return body_deadline


def _close_if_incomplete(request: web.Request) -> None:
    if not request.content.is_eof() and request.transport is not None:
        request.transport.close()


class _AddressCounts:
    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._open: Counter[str] = Counter()

    def admit(self, address: str) -> bool:
        if self._open[address] >= self._limit:
            return False
        self._open[address] += 1
        return True

    def release(self, address: str) -> None:
        self._open[address] -= 1
        if not self._open[address]:
            del self._open[address]


class _Counted(asyncio.Protocol):
    """One connection: the server's own protocol if its address has room, aborted if not."""

    def __init__(self, counts: _AddressCounts, inner: asyncio.Protocol) -> None:
        self._counts = counts
        self._inner = inner
        self._address: str | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        peer = transport.get_extra_info("peername")
        address = str(peer[0]) if peer else ""
        if not self._counts.admit(address):
            log.warning("refused a connection from %s: it holds the most it may", address)
            transport.abort()  # type: ignore[attr-defined]
            return
        self._address = address
        self._inner.connection_made(transport)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._address is not None:
            self._counts.release(self._address)
            self._inner.connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        self._inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self._inner.eof_received()

    def pause_writing(self) -> None:
        self._inner.pause_writing()

    def resume_writing(self) -> None:
        self._inner.resume_writing()


class BoundedSite(web.BaseSite):
    """A TCP site of `runner` on `host:port` (port 0 picks a free one) that holds at most
    `bounds.connections_per_address_max` connections per client address at once."""

    def __init__(
        self,
        runner: web.BaseRunner,
        host: str,
        port: int,
        *,
        bounds: ServerBounds,
        reuse_port: bool | None = None,
    ) -> None:
        super().__init__(runner)
        self._host = host
        self._port = port
        self._reuse_port = reuse_port
        self._counts = _AddressCounts(bounds.connections_per_address_max)

    @property
    def name(self) -> str:
        return f"http://{self._host}:{self._port}"

    async def start(self) -> None:
        await super().start()
        server = self._runner.server
        assert server is not None, "the runner is set up before its site starts"
        self._server = await asyncio.get_running_loop().create_server(
            lambda: _Counted(self._counts, server()),
            self._host,
            self._port,
            backlog=self._backlog,
            reuse_port=self._reuse_port,
        )


async def run_bounded(app: web.Application, host: str, port: int, bounds: ServerBounds) -> None:
    """Serve `app` on `host:port` within `bounds` until SIGTERM or SIGINT, then clean it up."""
    runner = bounded_runner(app, bounds, access_log=None)
    await runner.setup()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signal_number in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signal_number, stop.set)
    try:
        await BoundedSite(runner, host, port, bounds=bounds).start()
        await stop.wait()
    finally:
        await runner.cleanup()
