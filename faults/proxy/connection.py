"""One proxied TCP connection: the accepted client socket, the dialled upstream, two links.

Each socket is an asyncio Protocol (`_Side`): its reads feed the link it is the source of, and
its write-buffer signals pause or resume that link's source. No task runs per chunk; a
connection has one task to dial its upstream, and a link gets a pump task only when a toxic acts
on it (faults/proxy/link.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import socket
import struct
from collections.abc import Iterable
from typing import Protocol, cast

from faults.proxy.link import LINK_MEMORY_BYTES_MAX, WRITE_BUFFER_HIGH_BYTES, Link
from faults.proxy.toxics import DOWNSTREAM, UPSTREAM, Toxic

logger = logging.getLogger(__name__)

# An upstream that neither accepts nor refuses (SYNs dropped) must not hold the accepted client
# for ever; every link of the topology is loopback or LAN, where a connect takes milliseconds.
DIAL_TIMEOUT_S = 5.0

# A graceful close first flushes what is buffered; a peer that stopped reading must not keep
# the socket open for ever, so after this long the socket is aborted. The close runs in the
# background: no API call waits for it.
CLOSE_FLUSH_MAX_S = 2.0

# TCP keepalive on every accepted and dialled socket, with Go's defaults (what the real
# Toxiproxy gets from net.ListenConfig and net.Dialer): probes after 15 s idle, every 15 s. A
# peer that vanished without a FIN (host down, a partition on a real network) is then noticed
# and its connection freed instead of being held for ever.
KEEPALIVE_IDLE_S = 15
KEEPALIVE_INTERVAL_S = 15

# The most one connection holds in user space, both directions at their bounds (see link.py:
# a latency toxic's bandwidth-delay product per direction, plus the write buffers). Kernel
# socket buffers come on top, as for any TCP connection.
CONNECTION_MEMORY_BYTES_MAX = 2 * LINK_MEMORY_BYTES_MAX

# SO_LINGER on with a zero timeout: close() discards unsent data and sends RST instead of FIN.
_LINGER_RESET = struct.pack("ii", 1, 0)


def _configure(transport: asyncio.Transport) -> None:
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, KEEPALIVE_IDLE_S)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, KEEPALIVE_INTERVAL_S)
    transport.set_write_buffer_limits(high=WRITE_BUFFER_HIGH_BYTES)


class ConnectionOwner(Protocol):
    """What a connection needs from its proxy."""

    def random_for(self, connection: int, toxic: Toxic) -> random.Random:
        """The seeded generator of one start of `toxic` on connection number `connection`."""

    def record(
        self, connection: int, toxic: Toxic, roll: float, *, affected: bool, first: bool
    ) -> None:
        """Record a toxicity roll on connection number `connection`."""

    def count_bytes(self, toxic: Toxic, byte_count: int) -> None:
        """Count bytes that reached an active toxic."""

    def connection_done(self, connection: Connection) -> None:
        """Both sockets of `connection` are closed."""


class _Side(asyncio.Protocol):
    """One socket of a connection: the source of one link and the target of the other."""

    def __init__(self, connection: Connection, role: str) -> None:
        self.role = role
        self.transport: asyncio.Transport | None = None
        self.paused = False  # the write buffer is above its high-water mark
        self.finished = False  # lost, or (the upstream) will never be connected
        self.reading_link: Link | None = None
        self.writing_link: Link | None = None
        self._connection = connection
        self._closing = False
        self._abort_timer: asyncio.TimerHandle | None = None
        self._drain_waiter: asyncio.Future[None] | None = None

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it.
        self.transport = cast(asyncio.Transport, transport)
        _configure(self.transport)
        self._connection.side_connected(self)

    def data_received(self, data: bytes) -> None:
        assert self.reading_link is not None, "sides are wired before they connect"
        self.reading_link.feed(data)

    def eof_received(self) -> bool:
        assert self.reading_link is not None, "sides are wired before they connect"
        self.reading_link.feed_eof()
        return True  # keep the socket open: the other direction may still deliver held data

    def pause_writing(self) -> None:
        assert self.writing_link is not None, "sides are wired before they connect"
        self.paused = True
        self.writing_link.target_paused()

    def resume_writing(self) -> None:
        assert self.writing_link is not None, "sides are wired before they connect"
        self.paused = False
        self._release_drain_waiter()
        self.writing_link.target_resumed()

    def connection_lost(self, exc: Exception | None) -> None:
        assert self.reading_link is not None, "sides are wired before they connect"
        assert self.writing_link is not None, "sides are wired before they connect"
        self.finished = True
        self.paused = False
        if self._abort_timer is not None:
            self._abort_timer.cancel()
        self._release_drain_waiter()
        self.reading_link.feed_eof()
        self.writing_link.target_lost()
        self._connection.side_finished()

    # Source and Target, for the links

    @property
    def connected(self) -> bool:
        return self.transport is not None and not self.finished

    def write(self, data: bytes) -> None:
        if self.transport is not None and not self._closing and not self.finished:
            self.transport.write(data)

    async def drained(self) -> None:
        if not self.paused or self.finished:
            return
        assert self._drain_waiter is None, "only the writing link's pump waits for a drain"
        self._drain_waiter = asyncio.get_running_loop().create_future()
        await self._drain_waiter

    def pause_reading(self) -> None:
        if self.transport is not None and not self._closing and not self.finished:
            self.transport.pause_reading()

    def resume_reading(self) -> None:
        if self.transport is not None and not self._closing and not self.finished:
            self.transport.resume_reading()

    # Ending

    def close(self) -> None:
        """Close after flushing the write buffer (FIN); abort after CLOSE_FLUSH_MAX_S."""
        if self.transport is None or self._closing or self.finished:
            return
        self._closing = True
        self.transport.close()
        loop = asyncio.get_running_loop()
        self._abort_timer = loop.call_later(CLOSE_FLUSH_MAX_S, self.transport.abort)

    def reset(self) -> None:
        """Reset (RST via SO_LINGER 0): unsent data is discarded."""
        if self.transport is None or self.finished:
            return
        sock = self.transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_RESET)
        self._closing = True
        self.transport.abort()

    def abandon(self) -> None:
        """The upstream will never be connected (the dial failed or was cancelled)."""
        if self.transport is None:
            self.finished = True

    def _release_drain_waiter(self) -> None:
        waiter, self._drain_waiter = self._drain_waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)


class _Refused(asyncio.Protocol):
    """A connection the proxy does not take (disabled meanwhile, or at its cap)."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport.abort()


REFUSED = _Refused


class Connection:
    """A client connection accepted by a proxy and carried to its upstream.

    Toxics start when the connection is accepted (a timeout toxic's clock runs from then); the
    upstream is dialled next, and if that fails the client is closed at once. `client` is the
    protocol the proxy's listener hands the accepted socket to.
    """

    def __init__(
        self,
        *,
        number: int,
        upstream: tuple[str, int],
        toxics: Iterable[Toxic],
        owner: ConnectionOwner,
    ) -> None:
        self.number = number
        self._upstream = upstream
        self._owner = owner
        self.client = _Side(self, "client")
        self._server = _Side(self, "server")
        self._links = {
            UPSTREAM: Link(stream=UPSTREAM, owner=self, source=self.client, target=self._server),
            DOWNSTREAM: Link(
                stream=DOWNSTREAM, owner=self, source=self._server, target=self.client
            ),
        }
        self._targets = {UPSTREAM: self._server, DOWNSTREAM: self.client}
        self.client.reading_link = self._server.writing_link = self._links[UPSTREAM]
        self._server.reading_link = self.client.writing_link = self._links[DOWNSTREAM]
        self._dial: asyncio.Task[None] | None = None
        self._closing = False
        self._reset = False
        self._done = False
        for toxic in toxics:
            self._links[toxic.stream].add_toxic(toxic)

    # The chain, changed through the API

    def add_toxic(self, toxic: Toxic) -> None:
        """Start a toxic added through the API on this connection."""
        self._links[toxic.stream].add_toxic(toxic)

    def update_toxic(self, toxic: Toxic) -> None:
        """Restart a toxic updated through the API on this connection."""
        self._links[toxic.stream].update_toxic(toxic)

    def remove_toxic(self, toxic: Toxic) -> None:
        """Remove a toxic from this connection (a timeout toxic ends the connection)."""
        self._links[toxic.stream].remove_toxic(toxic)

    # Ending from outside

    def close(self) -> None:
        """Close both sides now (FIN after what the sockets have buffered); idempotent.

        Held data is dropped, as when Toxiproxy closes a connection; the flush runs in the
        background, bounded by CLOSE_FLUSH_MAX_S.
        """
        if self._closing:
            return
        self._closing = True
        self._stop()
        self.client.close()
        self._server.close()

    def reset(self) -> None:
        """Reset both sides (RST via SO_LINGER 0, buffered data discarded); idempotent."""
        if self._reset:
            return
        self._closing = self._reset = True
        self._stop()
        self.client.reset()
        self._server.reset()

    def _stop(self) -> None:
        for link in self._links.values():
            link.stop()
        if self._dial is not None:
            self._dial.cancel()

    # LinkOwner, for the links

    def random_for(self, toxic: Toxic) -> random.Random:
        return self._owner.random_for(self.number, toxic)

    def record(self, toxic: Toxic, roll: float, *, affected: bool, first: bool) -> None:
        self._owner.record(self.number, toxic, roll, affected=affected, first=first)

    def count_bytes(self, toxic: Toxic, byte_count: int) -> None:
        self._owner.count_bytes(toxic, byte_count)

    def link_finished(self, link: Link) -> None:
        # The link's target is the other link's source: closing it ends that link's input,
        # which then delivers what it holds and closes in turn.
        self._targets[link.stream].close()
        other = DOWNSTREAM if link.stream == UPSTREAM else UPSTREAM
        self._links[other].feed_eof()

    # Events from the sides

    def side_connected(self, side: _Side) -> None:
        assert side.transport is not None, "a connected side has a transport"
        if self._closing:
            side.close()
        elif side is self.client:
            self._dial = asyncio.get_running_loop().create_task(self._dial_upstream())
        else:
            self._links[UPSTREAM].target_connected()

    def side_finished(self) -> None:
        if self.client.finished and self._server.finished and not self._done:
            self._done = True
            self._owner.connection_done(self)

    async def _dial_upstream(self) -> None:
        host, port = self._upstream
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(DIAL_TIMEOUT_S):
                await loop.create_connection(lambda: self._server, host, port)
        except (OSError, TimeoutError) as error:
            logger.warning("cannot reach upstream %s:%s: %s", host, port, error or "timed out")
            self.close()
        finally:
            self._dial = None
            self._server.abandon()
            self.side_finished()
