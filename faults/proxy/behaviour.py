"""One toxic running on one link: the base of every toxic behaviour, and what it may ask of
the link.

The link's pump hands a behaviour each chunk (`apply`) and the end of the stream (`finish`);
the behaviour passes data on by yielding it (the link takes each piece through the rest of the
chain before it asks for the next), holds it, drops it, ends the stream at its place in the
chain, or resets the whole connection, through the `LinkControl` it was given.

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
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import ClassVar, Protocol

from faults.proxy.toxics import Toxic

MILLISECONDS_PER_SECOND = 1000.0

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


async def passed(*chunks: Chunk) -> AsyncIterator[Chunk]:
    """Pass `chunks` on unchanged; with none, the chunk applied is dropped."""
    for chunk in chunks:
        yield chunk


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

    def apply(self, chunk: Chunk) -> AsyncIterator[Chunk]:
        """Process one chunk: iterate to get what survives, piece by piece, for the rest of
        the chain; the toxic's waits run as it is iterated."""
        if not self.active:
            return passed(chunk)
        self._link.count_bytes(self.toxic, len(chunk.data))
        return self._apply(chunk)

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

    def _apply(self, chunk: Chunk) -> AsyncIterator[Chunk]:
        return passed(chunk)

    async def _finish(self) -> bool:
        return True
