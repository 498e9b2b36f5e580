"""One direction of a proxied connection: bytes from a source socket through a toxic chain to a
target socket.

Two paths carry the bytes:
- direct: with no active toxic, nothing queued and the target accepting writes, a chunk is
  written to the target inside the read callback: no task switch, no queue;
- pump: otherwise the chunk is stamped with its arrival time and queued, and one pump task per
  link (created the first time it is needed, never one per chunk) takes chunks in order through
  the chain and writes them out, waiting for the target to drain. It yields once per chunk.

The chain is looked up afresh at every step, so toxics added, updated or removed through the API
act on data already in flight on existing connections.

The end: when the source ends (EOF, or its socket closed) or a toxic ends the stream (`end_at`),
the toxics after that point finish in order (held data is delivered, slow_close waits), then the
owner closes the target, which ends the other link's source. So a half-close ends the whole
connection, as in Toxiproxy, but what either direction already holds is still delivered.
"""

from __future__ import annotations

import asyncio
import bisect
import logging
import random
from collections import deque
from collections.abc import AsyncIterator
from typing import Protocol

from faults.proxy.behaviour import Behaviour, Chunk, now
from faults.proxy.behaviours import start_behaviour
from faults.proxy.toxics import Toxic

logger = logging.getLogger(__name__)

# asyncio and uvloop hand over at most this much per read callback (256 KiB and 256,000 B).
READ_SIZE_MAX = 256 * 1024

# Bytes read from the source but not yet written to the target (the queue plus the chunk in
# the chain); reading pauses above it. A latency toxic has to hold everything that arrives
# during its delay, so throughput through latency L is at most this / L: 32 MiB carries
# ~670 MB/s through 50 ms, about the proxy's plain rate on a 2-core machine (8 MiB capped it
# at 159 MB/s in the benchmark). Toxiproxy holds up to 1024 chunks of 32 KiB (32 MiB) per link
# for the same reason. Only data a toxic holds fills it: without one, a chunk is written at
# once or reading pauses on the write buffer below.
LINK_BUFFER_BYTES_MAX = 32 * 1024 * 1024

# The target transport's buffer above which the source is paused (resumed below a quarter of
# it): what a peer that stops reading costs here, with one read of overshoot 512 KiB per
# direction. 64 KiB, 256 KiB and 1 MiB gave the same plain throughput within the noise of two
# interleaved benchmark runs (0.35-0.57 of direct); this one holds one full read.
WRITE_BUFFER_HIGH_BYTES = 256 * 1024

# What one link can hold in user space: its buffer and the target's write buffer, each
# overshot by at most one read before reading pauses.
LINK_MEMORY_BYTES_MAX = LINK_BUFFER_BYTES_MAX + WRITE_BUFFER_HIGH_BYTES + 2 * READ_SIZE_MAX


class Source(Protocol):
    """The socket a link reads from."""

    def pause_reading(self) -> None:
        """Stop taking data from the socket (TCP flow control then slows the sender)."""

    def resume_reading(self) -> None:
        """Take data again."""


class Target(Protocol):
    """The socket a link writes to."""

    @property
    def connected(self) -> bool:
        """Whether the socket is there (an upstream is being dialled until it is)."""

    @property
    def paused(self) -> bool:
        """Whether the socket's write buffer is above its high-water mark."""

    def write(self, data: bytes) -> None:
        """Queue `data` for sending; dropped if the socket is closing or gone."""

    async def drained(self) -> None:
        """Wait until the write buffer is below its low-water mark or the socket is gone."""


class LinkOwner(Protocol):
    """What a link needs from its connection."""

    def random_for(self, toxic: Toxic) -> random.Random:
        """The seeded generator of one start of `toxic` on this connection."""

    def record(self, toxic: Toxic, roll: float, *, affected: bool, first: bool) -> None:
        """Record a toxicity roll; `first` if this outcome is new for this connection."""

    def count_bytes(self, toxic: Toxic, byte_count: int) -> None:
        """Count bytes that reached an active toxic."""

    def reset(self) -> None:
        """Reset the whole connection (RST)."""

    def link_finished(self, link: Link) -> None:
        """The link has delivered all it will: close its target, end the other link."""


class Link:
    """The toxic chain of one connection in one direction, and the pump that runs through it."""

    def __init__(self, *, stream: str, owner: LinkOwner, source: Source, target: Target) -> None:
        self.stream = stream
        self._owner = owner
        self._source = source
        self._target = target
        self._loop = asyncio.get_running_loop()
        # In chain order: toxics arrive in added order and an update keeps a toxic's place.
        self._behaviours: list[Behaviour] = []
        self._queue: deque[Chunk] = deque()
        self._queued_byte_count = 0
        self._chain_byte_count = 0  # the chunk the pump has in the chain
        self._source_ended = False
        self._end_order: int | None = None  # set by end_at: the stream ends at that toxic
        self._pump: asyncio.Task[None] | None = None
        self._pump_waiter: asyncio.Future[None] | None = None  # set while the pump is idle
        self._reading_paused = False
        self._done = False  # nothing more will be sent
        self._stopped = False  # toxics stopped, pump gone
        self._tallied: set[tuple[int, bool]] = set()  # (toxic order, affected) counted once

    # The chain, changed through the API

    def add_toxic(self, toxic: Toxic) -> None:
        """Start `toxic` at the end of this link's chain."""
        if not self._done:
            self._behaviours.append(start_behaviour(toxic, self))

    def update_toxic(self, toxic: Toxic) -> None:
        """Restart the toxic named `toxic.name` with its new attributes and toxicity."""
        for behaviour in self._behaviours:
            if behaviour.toxic.name == toxic.name and not self._done:
                behaviour.restart(toxic)

    def remove_toxic(self, toxic: Toxic) -> None:
        """Take the toxic named `toxic.name` out of the chain (a timeout toxic ends the link)."""
        removed = [b for b in self._behaviours if b.toxic.name == toxic.name]
        self._behaviours = [b for b in self._behaviours if b.toxic.name != toxic.name]
        for behaviour in removed:
            behaviour.stop(removed=True)

    # LinkControl, for the behaviours

    def random_for(self, toxic: Toxic) -> random.Random:
        return self._owner.random_for(toxic)

    def record(self, toxic: Toxic, roll: float, *, affected: bool) -> None:
        outcome = (toxic.order, affected)
        first = outcome not in self._tallied
        self._tallied.add(outcome)
        self._owner.record(toxic, roll, affected=affected, first=first)

    def count_bytes(self, toxic: Toxic, byte_count: int) -> None:
        self._owner.count_bytes(toxic, byte_count)

    def end_at(self, order: int) -> None:
        if self._done or self._end_order is not None:
            return
        self._end_order = order
        self._queue.clear()
        self._queued_byte_count = 0
        self._update_reading()
        self._wake_pump()

    def reset(self) -> None:
        self._owner.reset()

    # Events from the sockets

    def feed(self, data: bytes) -> None:
        """Take a chunk read from the source."""
        if self._done or self._end_order is not None:
            return
        if self._is_direct():
            self._target.write(data)
            return
        self._queue.append(Chunk(data, now()))
        self._queued_byte_count += len(data)
        self._update_reading()
        self._wake_pump()

    def feed_eof(self) -> None:
        """The source has ended (EOF, or its socket is closed): finish once the queue is sent."""
        if self._done or self._source_ended:
            return
        self._source_ended = True
        if self._is_direct():
            self._complete()
            return
        self._wake_pump()

    def target_connected(self) -> None:
        """The target socket is there (the upstream was dialled): send what is queued."""
        self._wake_pump()

    def target_paused(self) -> None:
        """The target's write buffer went above its high-water mark."""
        self._update_reading()

    def target_resumed(self) -> None:
        """The target's write buffer went below its low-water mark."""
        self._update_reading()

    def target_lost(self) -> None:
        """The target socket is gone: nothing more can be delivered."""
        self.stop()

    def stop(self) -> None:
        """Stop at once (the connection is closing or reset): held data is dropped."""
        if self._stopped:
            return
        self._stopped = True
        self._done = True
        self._queue.clear()
        self._queued_byte_count = 0
        for behaviour in self._behaviours:
            behaviour.stop(removed=False)
        pump, self._pump = self._pump, None
        if pump is not None and pump is not asyncio.current_task():
            pump.cancel()

    # The two paths

    def _is_direct(self) -> bool:
        """Whether a chunk can skip the pump: nothing before it, no toxic acting on it."""
        pump_idle = self._pump is None or self._pump_waiter is not None
        return (
            pump_idle
            and not self._queue
            and self._target.connected
            and not self._target.paused
            and not any(behaviour.active for behaviour in self._behaviours)
        )

    def _update_reading(self) -> None:
        held_byte_count = self._queued_byte_count + self._chain_byte_count
        pause = (
            held_byte_count >= LINK_BUFFER_BYTES_MAX
            or self._target.paused
            or self._end_order is not None
        )
        if pause == self._reading_paused:
            return
        self._reading_paused = pause
        if pause:
            self._source.pause_reading()
        else:
            self._source.resume_reading()

    def _wake_pump(self) -> None:
        if self._done:
            return
        if self._pump is None:
            self._pump = self._loop.create_task(self._run_pump())
        elif self._pump_waiter is not None and not self._pump_waiter.done():
            self._pump_waiter.set_result(None)

    def _has_work(self) -> bool:
        if not self._target.connected:
            return False
        return bool(self._queue) or self._source_ended or self._end_order is not None

    async def _run_pump(self) -> None:
        try:
            await self._pump_until_finished()
        except asyncio.CancelledError:
            pass  # stop(): the connection is closing and drops what is held
        except Exception:
            # A bug here must not pass for a clean end of the stream: log it and reset.
            logger.exception("link %s failed", self.stream)
            self._owner.reset()

    async def _pump_until_finished(self) -> None:
        while True:
            while not self._has_work():
                self._pump_waiter = self._loop.create_future()
                try:
                    await self._pump_waiter
                finally:
                    self._pump_waiter = None
            if self._end_order is not None:
                await self._finish(after_order=self._end_order)
                return
            if not self._queue:
                await self._finish(after_order=-1)
                return
            chunk = self._queue.popleft()
            self._queued_byte_count -= len(chunk.data)
            self._chain_byte_count = len(chunk.data)
            await self._send(chunk)
            self._chain_byte_count = 0
            self._update_reading()
            # Every chunk yields once, whatever the chain did: a backlog of chunks whose
            # deadlines have passed must not keep the loop from other links and the API.
            await asyncio.sleep(0)

    def _next_behaviour(self, after_order: int) -> Behaviour | None:
        index = bisect.bisect_right(
            self._behaviours, after_order, key=lambda behaviour: behaviour.toxic.order
        )
        return self._behaviours[index] if index < len(self._behaviours) else None

    async def _send(self, chunk: Chunk) -> None:
        """Take `chunk` through the chain and write what leaves its end to the target.

        Depth first: each piece a toxic passes on goes through the rest of the chain before
        that toxic is asked for its next one. The toxics at work on a chunk are a stack of
        their outputs, not nested calls, so a chain of any length runs at a constant depth.
        """
        outputs: list[tuple[int, AsyncIterator[Chunk]]] = []
        order, piece = -1, chunk
        try:
            while True:
                if piece is not None:
                    behaviour = self._next_behaviour(order)
                    if behaviour is None:
                        await self._write(piece)
                    else:
                        outputs.append((behaviour.toxic.order, behaviour.apply(piece)))
                if not outputs:
                    return
                order, output = outputs[-1]
                piece = await anext(output, None)
                if piece is None:
                    outputs.pop()
        finally:
            for _, output in reversed(outputs):
                await output.aclose()

    async def _write(self, chunk: Chunk) -> None:
        self._target.write(chunk.data)
        if self._target.paused:
            await self._target.drained()

    async def _finish(self, *, after_order: int) -> None:
        """Take the end of the stream down the chain until a toxic takes the ending over."""
        order = after_order
        while (behaviour := self._next_behaviour(order)) is not None:
            if not await behaviour.finish():
                return
            order = behaviour.toxic.order
        self._complete()

    def _complete(self) -> None:
        self._done = True
        pump, self._pump = self._pump, None
        if pump is not None and pump is not asyncio.current_task():
            pump.cancel()  # an idle pump: the end came by the direct path
        self._owner.link_finished(self)
