"""What each toxic type does to the bytes of one link (one connection, one direction).

A behaviour is one toxic running on one link. The link hands it each chunk (`apply`) and the
end of the stream (`finish`); the behaviour passes data on through `emit`, holds it, drops it,
or closes or resets the whole connection through the `ConnectionControl` it was given.
"""

from __future__ import annotations

import asyncio
import math
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import ClassVar, Protocol

from faults.proxy.toxics import TOXIC_ATTRIBUTES, Toxic

MILLISECONDS_PER_SECOND = 1000.0
MICROSECONDS_PER_SECOND = 1_000_000.0
BYTES_PER_KILOBYTE = 1000  # Toxiproxy's bandwidth KB

# Toxiproxy's bandwidth toxic sends slow data in pieces worth 100 ms, so that a low rate
# trickles bytes instead of holding a whole chunk and then sending it in one burst.
BANDWIDTH_PIECE_MS = 100


class ConnectionControl(Protocol):
    """What a behaviour may do to the connection it runs on."""

    def close(self) -> None:
        """Close both sides of the connection (FIN), dropping whatever is still queued."""

    def reset(self) -> None:
        """Reset both sides of the connection (RST)."""


@dataclass(frozen=True)
class Chunk:
    """Bytes read in one go, with the loop time they arrived; latency moves `arrival` forward."""

    data: bytes
    arrival: float


Emit = Callable[[Chunk], Awaitable[None]]


def slice_sizes(length: int, average: int, variation: int, rng: random.Random) -> list[int]:
    """Split `length` bytes into piece sizes near `average` (± `variation`), as Toxiproxy does.

    A piece is halved (the cut moved by up to ± variation) until it is no longer than
    average + variation. Sizes stay positive and sum to `length`.

    >>> slice_sizes(10, 3, 0, random.Random(0))
    [2, 3, 2, 3]
    """
    assert average >= 1, "a slicer average_size below 1 never stops splitting"
    sizes: list[int] = []
    pending = [length]  # a stack, so the left half is split before the right one
    while pending:
        size = pending.pop()
        if size - average <= variation:
            sizes.append(size)
            continue
        middle = size // 2
        if variation > 0:
            middle += rng.randrange(-variation, variation)
        middle = min(max(middle, 1), size - 1)
        pending.append(size - middle)
        pending.append(middle)
    return sizes


class Behaviour:
    """A toxic on one link; the base class lets everything through (the `noop` toxic).

    Toxicity is rolled in `start`, so every connection, direction and (re)start gets its own
    roll; a behaviour that lost the roll acts like `noop` until it is restarted.
    """

    type_name: ClassVar[str] = "noop"

    def __init__(self, toxic: Toxic, connection: ConnectionControl, rng: random.Random) -> None:
        self.toxic = toxic
        self.active = False
        self._connection = connection
        self._rng = rng
        self._loop = asyncio.get_running_loop()
        self._interrupted = asyncio.Event()

    def start(self) -> None:
        """Roll toxicity and begin (timers start here)."""
        self.active = self._rng.random() < self.toxic.toxicity
        if self.active:
            self._on_start()

    def restart(self, toxic: Toxic) -> None:
        """Take new attributes/toxicity: held data is let go, then the toxic starts afresh."""
        self._interrupt()
        self._on_stop()
        self.toxic = toxic
        self.start()

    def stop(self, *, removed: bool) -> None:
        """End the toxic on this link; `removed` says the API removed it (vs. a closing link)."""
        self._interrupt()
        self._on_stop()
        if removed and self.active:
            self._on_removed()

    async def apply(self, chunk: Chunk, emit: Emit) -> None:
        """Process one chunk, passing what survives to `emit` (the rest of the chain)."""
        if self.active:
            await self._apply(chunk, emit)
        else:
            await emit(chunk)

    async def finish(self) -> bool:
        """Handle the end of the stream; return False if this toxic took over the ending."""
        if self.active:
            return await self._finish()
        return True

    def _seconds(self, attribute: str, per_second: float = MILLISECONDS_PER_SECOND) -> float:
        return self.toxic.attributes[attribute] / per_second

    async def _sleep_until(self, deadline: float) -> bool:
        """Sleep until loop time `deadline`; return False if an update or removal cut it short.

        Toxiproxy lets held data go at once when its toxic is interrupted, so removing a
        latency toxic frees the chunks it holds instead of making them wait out their delay.
        """
        if deadline <= self._loop.time():
            return True
        try:
            async with asyncio.timeout_at(None if math.isinf(deadline) else deadline):
                await self._interrupted.wait()
        except TimeoutError:
            return True
        return False

    def _interrupt(self) -> None:
        self._interrupted.set()
        self._interrupted = asyncio.Event()

    def _on_start(self) -> None:
        pass

    def _on_stop(self) -> None:
        pass

    def _on_removed(self) -> None:
        pass

    async def _apply(self, chunk: Chunk, emit: Emit) -> None:
        await emit(chunk)

    async def _finish(self) -> bool:
        return True


class Latency(Behaviour):
    """Delay each chunk by latency ± jitter from its arrival; order is kept."""

    type_name = "latency"

    async def _apply(self, chunk: Chunk, emit: Emit) -> None:
        jitter = self._seconds("jitter")
        delay = max(0.0, self._seconds("latency") + self._rng.uniform(-jitter, jitter))
        deadline = chunk.arrival + delay
        await self._sleep_until(deadline)
        # Later latency toxics count from here, so stacked latencies add up as in Toxiproxy.
        await emit(replace(chunk, arrival=min(deadline, self._loop.time())))


class Bandwidth(Behaviour):
    """Pace the link to `rate` KB/s; rate 0 holds all data until the toxic changes or goes.

    Toxiproxy hangs forever on rate 0; holding the data while the toxic exists gives the same
    picture to the peers but lets it go when the toxic is updated or removed.
    """

    type_name = "bandwidth"

    def _on_start(self) -> None:
        self._free_at = self._loop.time()

    async def _apply(self, chunk: Chunk, emit: Emit) -> None:
        rate = self.toxic.attributes["rate"]
        if rate == 0:
            await self._sleep_until(math.inf)
            await emit(chunk)
            return
        bytes_per_second = rate * BYTES_PER_KILOBYTE
        piece_size = max(1, bytes_per_second * BANDWIDTH_PIECE_MS // 1000)
        data = chunk.data
        while data:
            piece, data = data[:piece_size], data[piece_size:]
            self._free_at = max(self._free_at, self._loop.time()) + len(piece) / bytes_per_second
            if not await self._sleep_until(self._free_at):
                await emit(replace(chunk, data=piece + data))
                return
            await emit(replace(chunk, data=piece))


class SlowClose(Behaviour):
    """Delay the close that follows the end of the stream by `delay` ms."""

    type_name = "slow_close"

    async def _finish(self) -> bool:
        await self._sleep_until(self._loop.time() + self._seconds("delay"))
        return True


class Timeout(Behaviour):
    """Drop all data; close the connection after `timeout` ms without data (0 = never).

    Each dropped chunk restarts the clock, as in Toxiproxy. Removing the toxic closes the
    connections it was active on: they have lost bytes and cannot carry on.
    """

    type_name = "timeout"
    _timer: asyncio.TimerHandle | None = None

    def _on_start(self) -> None:
        self._arm_timer()

    def _arm_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        if self.toxic.attributes["timeout"] > 0:
            self._timer = self._loop.call_later(self._seconds("timeout"), self._connection.close)

    def _on_stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _on_removed(self) -> None:
        self._connection.close()

    async def _apply(self, chunk: Chunk, emit: Emit) -> None:
        self._arm_timer()


class ResetPeer(Behaviour):
    """On the first chunk (dropped) or the end of the stream, wait `timeout` ms, then reset.

    A reset once begun is not called off by an update or removal (Toxiproxy's neither), and
    data arriving meanwhile is dropped.
    """

    type_name = "reset_peer"
    _reset_at: float | None = None

    def _on_start(self) -> None:
        self._reset_at = None

    def _trigger(self) -> float:
        if self._reset_at is None:
            self._reset_at = self._loop.time() + self._seconds("timeout")
            self._loop.call_at(self._reset_at, self._connection.reset)
        return self._reset_at

    async def _apply(self, chunk: Chunk, emit: Emit) -> None:
        self._trigger()

    async def _finish(self) -> bool:
        # Not interruptible on purpose: the reset is committed; this wait is bounded by it.
        await asyncio.sleep(max(0.0, self._trigger() - self._loop.time()))
        self._connection.reset()
        return False


class Slicer(Behaviour):
    """Split each chunk into pieces of about `average_size` B, `delay` µs apart."""

    type_name = "slicer"

    async def _apply(self, chunk: Chunk, emit: Emit) -> None:
        attributes = self.toxic.attributes
        sizes = slice_sizes(
            len(chunk.data), attributes["average_size"], attributes["size_variation"], self._rng
        )
        start = 0
        for size in sizes:
            deadline = self._loop.time() + self._seconds("delay", MICROSECONDS_PER_SECOND)
            if not await self._sleep_until(deadline):
                await emit(replace(chunk, data=chunk.data[start:]))
                return
            await emit(replace(chunk, data=chunk.data[start : start + size]))
            start += size


class LimitData(Behaviour):
    """Pass at most `bytes` bytes on this link, then close the connection.

    The count survives updates (Toxiproxy keeps it as toxic state), so raising the limit
    lets more bytes through on a connection that has not been closed yet.
    """

    type_name = "limit_data"

    def __init__(self, toxic: Toxic, connection: ConnectionControl, rng: random.Random) -> None:
        super().__init__(toxic, connection, rng)
        self._sent_byte_count = 0

    async def _apply(self, chunk: Chunk, emit: Emit) -> None:
        remaining = self.toxic.attributes["bytes"] - self._sent_byte_count
        piece = chunk.data[: max(0, remaining)]
        if piece:
            self._sent_byte_count += len(piece)
            await emit(replace(chunk, data=piece))
        if self._sent_byte_count >= self.toxic.attributes["bytes"]:
            self._connection.close()


BEHAVIOURS: dict[str, type[Behaviour]] = {
    behaviour.type_name: behaviour
    for behaviour in (
        Behaviour,
        Latency,
        Bandwidth,
        SlowClose,
        Timeout,
        ResetPeer,
        Slicer,
        LimitData,
    )
}
assert BEHAVIOURS.keys() == TOXIC_ATTRIBUTES.keys(), "every toxic type needs a behaviour"


def start_behaviour(toxic: Toxic, connection: ConnectionControl, rng: random.Random) -> Behaviour:
    """Create and start the behaviour of `toxic` on one link of `connection`."""
    behaviour = BEHAVIOURS[toxic.type](toxic, connection, rng)
    behaviour.start()
    return behaviour
