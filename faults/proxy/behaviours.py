"""What each toxic type does to the bytes of one link (one connection, one direction).

A behaviour is one toxic running on one link. The link's pump hands it each chunk (`apply`) and
the end of the stream (`finish`); the behaviour passes data on through `emit`, holds it, drops
it, ends the stream at its place in the chain, or resets the whole connection, through the
`LinkControl` it was given.

No behaviour may keep the event loop: every wait yields, and a wait whose deadline has already
passed still yields once the behaviour has run for YIELD_INTERVAL_S without yielding. (The
pump yields once per chunk as well.) A slicer with delay 0 on a large chunk therefore shares
the loop with every other connection and the API instead of freezing them.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import ClassVar, Protocol

from faults.proxy.toxics import TOXIC_ATTRIBUTES, Toxic

MILLISECONDS_PER_SECOND = 1000.0
MICROSECONDS_PER_SECOND = 1_000_000.0
BYTES_PER_KILOBYTE = 1000  # Toxiproxy's bandwidth KB

# Toxiproxy's bandwidth toxic sends slow data in pieces worth 100 ms, so that a low rate
# trickles bytes instead of holding a whole chunk and then sending it in one burst.
BANDWIDTH_PIECE_MS = 100

# The longest a behaviour runs without yielding when it has no real wait (slicer delay 0, a
# bandwidth or latency schedule that is behind): 2 ms keeps the API and other links answering
# well within the 100 ms the tests allow, while a yield per piece would cost more than a
# 1-byte piece's own write.
YIELD_INTERVAL_S = 0.002


class LinkControl(Protocol):
    """What a behaviour may ask of the link it runs on."""

    def random_for(self, toxic: Toxic) -> random.Random:
        """The seeded generator of this start of `toxic` on this link."""

    def record(self, toxic: Toxic, roll: float, *, affected: bool) -> None:
        """Record a toxicity roll of `toxic` on this link."""

    def count_bytes(self, toxic: Toxic, byte_count: int) -> None:
        """Count bytes that reached `toxic` while it was active."""

    def end_at(self, order: int) -> None:
        """End the stream at the toxic of this `order`: take no more input, let the toxics
        after it finish, then close (FIN) the connection."""

    def reset(self) -> None:
        """Reset both sides of the connection (RST), dropping everything held."""


# The clock of arrivals and deadlines. Not loop.time(): uvloop's has millisecond steps, and a
# chunk stamped up to 1 ms early would leave a latency toxic up to 1 ms before its time.
now = time.monotonic


@dataclass(frozen=True, slots=True)
class Chunk:
    """Bytes read in one go, with the time (`now()`) they arrived; latency moves `arrival`."""

    data: bytes
    arrival: float


Emit = Callable[[Chunk], Awaitable[None]]


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


def _wake(waiter: asyncio.Future[bool], result: bool) -> None:
    if not waiter.done():
        waiter.set_result(result)


class Behaviour:
    """A toxic on one link; the base class lets everything through (the `noop` toxic).

    Toxicity is rolled in `start`, so every connection, direction and (re)start gets its own
    roll; a behaviour that lost the roll acts like `noop` (and costs nothing: the link sends
    around it) until it is restarted.
    """

    type_name: ClassVar[str] = "noop"

    def __init__(self, toxic: Toxic, link: LinkControl) -> None:
        self.toxic = toxic
        self.active = False
        self._link = link
        self._rng = random.Random(0)  # replaced by the seeded one in start()
        self._loop = asyncio.get_running_loop()
        self._waiter: asyncio.Future[bool] | None = None
        self._yielded_at = now()

    def start(self) -> None:
        """Roll toxicity with this start's seeded generator and begin (timers start here)."""
        self._rng = self._link.random_for(self.toxic)
        roll = self._rng.random()
        self.active = roll < self.toxic.toxicity
        self._link.record(self.toxic, roll, affected=self.active)
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
            self._link.count_bytes(self.toxic, len(chunk.data))
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
        """Wait until `now()` reaches `deadline`; return False if an update or removal cut it short.

        Toxiproxy lets held data go at once when its toxic is interrupted, so removing a
        latency toxic frees the chunks it holds instead of making them wait out their delay.
        A deadline already passed returns at once, yielding if the behaviour has not yielded
        for YIELD_INTERVAL_S. Timers may round to the millisecond, so the clock is checked
        again after each one: a wait never ends before its deadline.
        """
        remaining = deadline - now()
        if remaining <= 0:
            if now() - self._yielded_at >= YIELD_INTERVAL_S:
                await asyncio.sleep(0)
                self._yielded_at = now()
            return True
        while remaining > 0:
            waiter: asyncio.Future[bool] = self._loop.create_future()
            timer = (
                None
                if math.isinf(remaining)
                else self._loop.call_later(remaining, _wake, waiter, True)
            )
            self._waiter = waiter
            try:
                if not await waiter:
                    return False
            finally:
                self._waiter = None
                self._yielded_at = now()
                if timer is not None:
                    timer.cancel()
            remaining = deadline - now()
        return True

    def _interrupt(self) -> None:
        if self._waiter is not None:
            _wake(self._waiter, False)

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
    """Delay each chunk by latency ± jitter from its arrival; order is kept.

    A chunk whose jittered deadline falls before the previous chunk's leaves right after it:
    the link sends chunks in order, as Toxiproxy does.
    """

    type_name = "latency"

    async def _apply(self, chunk: Chunk, emit: Emit) -> None:
        delay = self._seconds("latency")
        jitter = self._seconds("jitter")
        if jitter > 0:
            delay = max(0.0, delay + self._rng.uniform(-jitter, jitter))
        deadline = chunk.arrival + delay
        await self._sleep_until(deadline)
        # Later latency toxics count from here, so stacked latencies add up as in Toxiproxy.
        await emit(Chunk(chunk.data, min(deadline, now())))


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

    async def _apply(self, chunk: Chunk, emit: Emit) -> None:
        rate = self.toxic.attributes["rate"]
        if rate == 0:
            await self._sleep_until(math.inf)
            await emit(chunk)
            return
        bytes_per_second = rate * BYTES_PER_KILOBYTE
        piece_size = max(1, bytes_per_second * BANDWIDTH_PIECE_MS // 1000)
        data = memoryview(chunk.data)
        for start in range(0, len(data), piece_size):
            piece = data[start : start + piece_size]
            self._free_at = max(self._free_at, now()) + len(piece) / bytes_per_second
            if not await self._sleep_until(self._free_at):
                await emit(Chunk(bytes(data[start:]), chunk.arrival))
                return
            await emit(Chunk(bytes(piece), chunk.arrival))


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
            self._reset_at = now() + self._seconds("timeout")
            # call_later, not call_at: loop.time() need not be the clock `now` reads.
            self._loop.call_later(self._seconds("timeout"), self._link.reset)
        return self._reset_at

    async def _apply(self, chunk: Chunk, emit: Emit) -> None:
        self._trigger()

    async def _finish(self) -> bool:
        # Not interruptible on purpose: the reset is committed; this wait is bounded by it.
        await asyncio.sleep(max(0.0, self._trigger() - now()))
        self._link.reset()
        return False


class Slicer(Behaviour):
    """Split each chunk into pieces of about `average_size` B, `delay` µs apart."""

    type_name = "slicer"

    async def _apply(self, chunk: Chunk, emit: Emit) -> None:
        attributes = self.toxic.attributes
        sizes = iter_slice_sizes(
            len(chunk.data), attributes["average_size"], attributes["size_variation"], self._rng
        )
        delay = self._seconds("delay", MICROSECONDS_PER_SECOND)
        data = memoryview(chunk.data)
        start = 0
        for size in sizes:
            if not await self._sleep_until(now() + delay):
                await emit(Chunk(bytes(data[start:]), chunk.arrival))
                return
            await emit(Chunk(bytes(data[start : start + size]), chunk.arrival))
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

    async def _apply(self, chunk: Chunk, emit: Emit) -> None:
        remaining = self.toxic.attributes["bytes"] - self._sent_byte_count
        piece = chunk.data[: max(0, remaining)]
        if piece:
            self._sent_byte_count += len(piece)
            await emit(Chunk(piece, chunk.arrival))
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
