"""One direction of a proxied connection: bytes from a source pass a toxic chain to a target.

Reading and writing run as two tasks joined by a short queue, so that a chunk held by a toxic
(latency) does not stop the next one from being read and stamped with its true arrival time.
The chain is looked up afresh at every step, so toxics added, updated or removed through the
API act on data already in flight on existing connections.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random

from faults.proxy.behaviours import Behaviour, Chunk, ConnectionControl, start_behaviour
from faults.proxy.toxics import Toxic

logger = logging.getLogger(__name__)

# One read takes at most this much; 64 KiB is asyncio's own stream buffer limit.
CHUNK_SIZE_MAX = 64 * 1024

# Chunks read but not yet through the chain, per link: 16 x 64 KiB bounds the memory of a link
# to 1 MiB while letting a latency toxic hold many small chunks in flight at once.
CHUNK_QUEUE_MAX = 16


async def _read_chunks(
    source: asyncio.StreamReader,
    queue: asyncio.Queue[Chunk | None],
    loop: asyncio.AbstractEventLoop,
) -> None:
    """Feed `queue` with chunks from `source`, then None for the end of the stream."""
    try:
        while data := await source.read(CHUNK_SIZE_MAX):
            await queue.put(Chunk(data, loop.time()))
    except OSError as error:
        # A peer that resets ends its stream; the connection then closes like on EOF.
        logger.debug("read ended: %s", error)
    await queue.put(None)


class Link:
    """The toxic chain of one connection in one direction, and the pump that runs through it."""

    def __init__(self, connection: ConnectionControl, rng: random.Random) -> None:
        self._connection = connection
        self._rng = rng
        # In chain order: toxics arrive in added order and an update keeps a toxic's place.
        self._behaviours: list[Behaviour] = []

    def add_toxic(self, toxic: Toxic) -> None:
        """Start `toxic` at the end of this link's chain."""
        self._behaviours.append(start_behaviour(toxic, self._connection, self._rng))

    def update_toxic(self, toxic: Toxic) -> None:
        """Restart the toxic named `toxic.name` with its new attributes and toxicity."""
        for behaviour in self._behaviours:
            if behaviour.toxic.name == toxic.name:
                behaviour.restart(toxic)

    def remove_toxic(self, toxic: Toxic) -> None:
        """Take the toxic named `toxic.name` out of the chain (a timeout toxic closes)."""
        removed = [b for b in self._behaviours if b.toxic.name == toxic.name]
        self._behaviours = [b for b in self._behaviours if b.toxic.name != toxic.name]
        for behaviour in removed:
            behaviour.stop(removed=True)

    def stop(self) -> None:
        """Stop every toxic of the link because the connection is closing."""
        for behaviour in self._behaviours:
            behaviour.stop(removed=False)

    async def run(self, source: asyncio.StreamReader, target: asyncio.StreamWriter) -> None:
        """Pump `source` to `target` through the chain; close the connection when either ends."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Chunk | None] = asyncio.Queue(maxsize=CHUNK_QUEUE_MAX)
        reading = asyncio.create_task(_read_chunks(source, queue, loop))
        try:
            while (chunk := await queue.get()) is not None:
                await self._send(chunk, target=target, after_order=-1)
            await self._finish()
        except OSError as error:
            logger.debug("write ended: %s", error)
        finally:
            reading.cancel()
            # Half-close is not carried: the end of either direction ends the connection.
            self._connection.close()

    def _next_behaviour(self, after_order: int) -> Behaviour | None:
        for behaviour in self._behaviours:
            if behaviour.toxic.order > after_order:
                return behaviour
        return None

    async def _send(self, chunk: Chunk, *, target: asyncio.StreamWriter, after_order: int) -> None:
        behaviour = self._next_behaviour(after_order)
        if behaviour is None:
            target.write(chunk.data)
            await target.drain()
            return
        emit = functools.partial(self._send, target=target, after_order=behaviour.toxic.order)
        await behaviour.apply(chunk, emit)

    async def _finish(self) -> None:
        """Take the end of the stream down the chain until a toxic takes the ending over."""
        order = -1
        while (behaviour := self._next_behaviour(order)) is not None:
            if not await behaviour.finish():
                return
            order = behaviour.toxic.order
