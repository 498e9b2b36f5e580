"""One proxied TCP connection: the accepted client, the dialled upstream and the two links."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import socket
import struct
from collections.abc import Iterable

from faults.proxy.link import Link
from faults.proxy.toxics import DOWNSTREAM, UPSTREAM, Toxic

logger = logging.getLogger(__name__)

# An upstream that neither accepts nor refuses (SYNs dropped) must not hold the accepted client
# for ever; every link of the topology is loopback or LAN, where a connect takes milliseconds.
DIAL_TIMEOUT_S = 5.0

# A graceful close first flushes what is buffered; a peer that stopped reading must not keep the
# socket open for ever, so after this long the socket is dropped.
CLOSE_FLUSH_MAX_S = 2.0

# SO_LINGER on with a zero timeout: close() discards unsent data and sends RST instead of FIN.
_LINGER_RESET = struct.pack("ii", 1, 0)


def _close_gracefully(writer: asyncio.StreamWriter) -> None:
    writer.close()
    asyncio.get_running_loop().call_later(CLOSE_FLUSH_MAX_S, writer.transport.abort)


def _reset(writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_RESET)
    writer.transport.abort()


async def _wait_closed(writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(OSError):
        await writer.wait_closed()


class Connection:
    """A client connection accepted by a proxy and carried to its upstream.

    Toxics start when the connection is accepted (a timeout toxic's clock runs from then), the
    upstream is dialled next; if that fails the client is closed at once.
    """

    def __init__(
        self,
        *,
        upstream: tuple[str, int],
        client_reader: asyncio.StreamReader,
        client_writer: asyncio.StreamWriter,
        toxics: Iterable[Toxic],
        rng: random.Random,
    ) -> None:
        self._upstream = upstream
        self._client_reader = client_reader
        self._client_writer = client_writer
        self._upstream_writer: asyncio.StreamWriter | None = None
        self._dial: asyncio.Task[tuple[asyncio.StreamReader, asyncio.StreamWriter]] | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._closed = False
        self._links = {UPSTREAM: Link(self, rng), DOWNSTREAM: Link(self, rng)}
        for toxic in toxics:
            self._links[toxic.stream].add_toxic(toxic)

    def add_toxic(self, toxic: Toxic) -> None:
        """Start a toxic added through the API on this connection."""
        if not self._closed:
            self._links[toxic.stream].add_toxic(toxic)

    def update_toxic(self, toxic: Toxic) -> None:
        """Restart a toxic updated through the API on this connection."""
        if not self._closed:
            self._links[toxic.stream].update_toxic(toxic)

    def remove_toxic(self, toxic: Toxic) -> None:
        """Remove a toxic from this connection (a timeout toxic closes the connection)."""
        if not self._closed:
            self._links[toxic.stream].remove_toxic(toxic)

    async def run(self) -> None:
        """Dial the upstream, then carry bytes both ways until either side or a toxic ends it."""
        try:
            upstream_reader, upstream_writer = await self._dial_upstream()
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise
            return  # close() cancelled the dial: the proxy was disabled meanwhile
        except (OSError, TimeoutError) as error:
            host, port = self._upstream
            logger.warning("cannot reach upstream %s:%s: %s", host, port, error or "timed out")
            self.close()
            return
        self._upstream_writer = upstream_writer
        if self._closed:
            _close_gracefully(upstream_writer)
            return
        self._tasks = [
            asyncio.create_task(self._links[UPSTREAM].run(self._client_reader, upstream_writer)),
            asyncio.create_task(self._links[DOWNSTREAM].run(upstream_reader, self._client_writer)),
        ]
        try:
            await asyncio.wait(self._tasks)
        finally:
            self.close()
        for task in self._tasks:
            if not task.cancelled() and task.exception() is not None:
                logger.error("connection failed: %r", task.exception())
        # Bounded: _close_gracefully drops a socket whose flush takes longer than this.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(CLOSE_FLUSH_MAX_S + 1):
                await asyncio.gather(*(_wait_closed(writer) for writer in self._writers()))

    async def _dial_upstream(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        host, port = self._upstream
        self._dial = asyncio.create_task(
            asyncio.wait_for(asyncio.open_connection(host, port), DIAL_TIMEOUT_S)
        )
        try:
            return await self._dial
        finally:
            self._dial = None

    def _writers(self) -> list[asyncio.StreamWriter]:
        writers = [self._client_writer]
        if self._upstream_writer is not None:
            writers.append(self._upstream_writer)
        return writers

    def close(self) -> None:
        """Close both sides (FIN after what is already buffered); idempotent."""
        self._shut(reset=False)

    def reset(self) -> None:
        """Reset both sides (RST via SO_LINGER 0, buffered data discarded); idempotent."""
        self._shut(reset=True)

    def _shut(self, *, reset: bool) -> None:
        if self._closed:
            return
        self._closed = True
        for link in self._links.values():
            link.stop()
        if self._dial is not None:
            self._dial.cancel()
        for task in self._tasks:
            task.cancel()
        for writer in self._writers():
            if reset:
                _reset(writer)
            else:
                _close_gracefully(writer)
