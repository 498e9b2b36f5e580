"""What each toxic type does to the bytes of one link (one connection, one direction), and
the table of those behaviours, held equal to the table of toxic attributes.

A behaviour's lifecycle, its link and its waits are `behaviour.Behaviour`'s.
"""

from __future__ import annotations

import asyncio
import math
import random
from collections.abc import AsyncIterator, Iterator

from faults.proxy.behaviour import Behaviour, Chunk, LinkControl, now, passed
from faults.proxy.toxics import TOXIC_ATTRIBUTES, Toxic

MICROSECONDS_PER_SECOND = 1_000_000.0
BYTES_PER_KILOBYTE = 1000  # Toxiproxy's bandwidth KB

# Toxiproxy's bandwidth toxic sends slow data in pieces worth 100 ms, so that a low rate
# trickles bytes instead of holding a whole chunk and then sending it in one burst.
BANDWIDTH_PIECE_MS = 100


def iter_slice_sizes(
    length: int, average: int, variation: int, rng: random.Random
) -> Iterator[int]:
    """Yield piece sizes splitting `length` bytes near `average` (± `variation`), lazily.

    A piece is halved (the cut moved by up to ± variation) until it is no longer than
    average + variation, as Toxiproxy does. Sizes are positive and sum to `length`. Lazy, so
    that a 256 KiB chunk cut into 1-byte pieces is never a 262,144-item list built at once.
    """
    assert average >= 1, "a slicer average_size below 1 never stops splitting"
    pending = [length]  # a stack, so the left half is split before the right one
    while pending:
        size = pending.pop()
        if size - average <= variation:
            yield size
            continue
        middle = size // 2
        if variation > 0:
            middle += rng.randrange(-variation, variation)
        middle = min(max(middle, 1), size - 1)
        pending.append(size - middle)
        pending.append(middle)


def slice_sizes(length: int, average: int, variation: int, rng: random.Random) -> list[int]:
    """All piece sizes of `iter_slice_sizes`, as a list.

    >>> slice_sizes(10, 3, 0, random.Random(0))
    [2, 3, 2, 3]
    """
    return list(iter_slice_sizes(length, average, variation, rng))


class Latency(Behaviour):
    """Delay each chunk by latency ± jitter from its arrival; order is kept.

    A chunk whose jittered deadline falls before the previous chunk's leaves right after it:
    the link sends chunks in order, as Toxiproxy does.
    """

    type_name = "latency"

    async def _apply(self, chunk: Chunk) -> AsyncIterator[Chunk]:
        delay = self._seconds("latency")
        jitter = self._seconds("jitter")
        if jitter > 0:
            delay = max(0.0, delay + self._rng.uniform(-jitter, jitter))
        deadline = chunk.arrival + delay
        await self._sleep_until(deadline)
        # Later latency toxics count from here, so stacked latencies add up as in Toxiproxy.
        yield Chunk(chunk.data, min(deadline, now()))


class Bandwidth(Behaviour):
    """Pace the link to `rate` KB/s (per connection and direction, as in Toxiproxy).

    Rate 0 holds all data while the toxic exists, in either stream. Toxiproxy spins for ever on
    rate 0 (its 100 ms pieces are 0 bytes long), which peers see as a link that carries nothing;
    holding gives them the same picture but lets the data go when the toxic is updated or
    removed, so a heal restores the connection instead of leaving it hung.
    """

    type_name = "bandwidth"

    def _on_start(self) -> None:
        self._free_at = now()

    async def _apply(self, chunk: Chunk) -> AsyncIterator[Chunk]:
        rate = self.toxic.attributes["rate"]
        if rate == 0:
            await self._sleep_until(math.inf)
            yield chunk
            return
        bytes_per_second = rate * BYTES_PER_KILOBYTE
        piece_size = max(1, bytes_per_second * BANDWIDTH_PIECE_MS // 1000)
        data = memoryview(chunk.data)
        for start in range(0, len(data), piece_size):
            piece = data[start : start + piece_size]
            self._free_at = max(self._free_at, now()) + len(piece) / bytes_per_second
            if not await self._sleep_until(self._free_at):
                yield Chunk(bytes(data[start:]), chunk.arrival)
                return
            yield Chunk(bytes(piece), chunk.arrival)


class SlowClose(Behaviour):
    """Delay the close that follows the end of the stream by `delay` ms."""

    type_name = "slow_close"

    async def _finish(self) -> bool:
        await self._sleep_until(now() + self._seconds("delay"))
        return True


class Timeout(Behaviour):
    """Drop all data; end the connection after `timeout` ms without data (0 = never).

    Each dropped chunk restarts the clock, as in Toxiproxy. Removing the toxic ends the
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
            self._timer = self._loop.call_later(
                self._seconds("timeout"), self._link.end_at, self.toxic.order
            )

    def _on_stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _on_removed(self) -> None:
        self._link.end_at(self.toxic.order)

    def _apply(self, chunk: Chunk) -> AsyncIterator[Chunk]:
        self._arm_timer()
        return passed()


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
            self._reset_at = now() + self._seconds("timeout")
            # call_later, not call_at: loop.time() need not be the clock `now` reads.
            self._loop.call_later(self._seconds("timeout"), self._link.reset)
        return self._reset_at

    def _apply(self, chunk: Chunk) -> AsyncIterator[Chunk]:
        self._trigger()
        return passed()

    async def _finish(self) -> bool:
        # Not interruptible on purpose: the reset is committed; this wait is bounded by it.
        await asyncio.sleep(max(0.0, self._trigger() - now()))
        self._link.reset()
        return False


class Slicer(Behaviour):
    """Split each chunk into pieces of about `average_size` B, `delay` µs apart."""

    type_name = "slicer"

    async def _apply(self, chunk: Chunk) -> AsyncIterator[Chunk]:
        attributes = self.toxic.attributes
        sizes = iter_slice_sizes(
            len(chunk.data), attributes["average_size"], attributes["size_variation"], self._rng
        )
        delay = self._seconds("delay", MICROSECONDS_PER_SECOND)
        data = memoryview(chunk.data)
        start = 0
        for size in sizes:
            if not await self._sleep_until(now() + delay):
                yield Chunk(bytes(data[start:]), chunk.arrival)
                return
            yield Chunk(bytes(data[start : start + size]), chunk.arrival)
            start += size


class LimitData(Behaviour):
    """Pass at most `bytes` bytes on this link, then end the connection.

    The count survives updates (Toxiproxy keeps it as toxic state), so raising the limit
    lets more bytes through on a connection that has not been closed yet. A limit already
    reached ends the connection with the next chunk, not at once, as in Toxiproxy.
    """

    type_name = "limit_data"

    def __init__(self, toxic: Toxic, link: LinkControl) -> None:
        super().__init__(toxic, link)
        self._sent_byte_count = 0

    async def _apply(self, chunk: Chunk) -> AsyncIterator[Chunk]:
        remaining = self.toxic.attributes["bytes"] - self._sent_byte_count
        piece = chunk.data[: max(0, remaining)]
        if piece:
            self._sent_byte_count += len(piece)
            yield Chunk(piece, chunk.arrival)
        if self._sent_byte_count >= self.toxic.attributes["bytes"]:
            self._link.end_at(self.toxic.order)


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


def start_behaviour(toxic: Toxic, link: LinkControl) -> Behaviour:
    """Create and start the behaviour of `toxic` on `link`."""
    behaviour = BEHAVIOURS[toxic.type](toxic, link)
    behaviour.start()
    return behaviour
