"""Toxic behaviours on a fake link, on one event loop: what they emit, and that they yield.

A ticker task runs beside each behaviour and records the loop's longest gap between its ticks;
a behaviour that kept the loop would show up as a long gap.
"""

from __future__ import annotations

import asyncio
import random
import time

import pytest

from faults.proxy import loop as event_loop
from faults.proxy.behaviour import YIELD_INTERVAL_S, Chunk, now
from faults.proxy.behaviours import start_behaviour
from faults.proxy.decisions import link_random
from faults.proxy.toxics import Toxic, parse_new_toxic

# The longest gap the ticker may see: the behaviour's slice plus a margin.
GAP_MAX_S = YIELD_INTERVAL_S + 0.030


class FakeLink:
    """Records what the behaviour asks of its link."""

    def __init__(self, seed: int = 1) -> None:
        self.seed = seed
        self.rolls: list[tuple[str, float, bool]] = []
        self.byte_count = 0
        self.ended_at: int | None = None
        self.reset_count = 0

    def random_for(self, toxic: Toxic) -> random.Random:
        return link_random(self.seed, proxy="p", connection=1, toxic=toxic)

    def record(self, toxic: Toxic, roll: float, *, affected: bool) -> None:
        self.rolls.append((toxic.name, roll, affected))

    def count_bytes(self, toxic: Toxic, byte_count: int) -> None:
        self.byte_count += byte_count

    def end_at(self, order: int) -> None:
        self.ended_at = order

    def reset(self) -> None:
        self.reset_count += 1


class Ticker:
    """Ticks as often as the loop lets it; `gap_max_s` is the longest wait between ticks.

    Measured in this thread's CPU time: what the loop spent before it let the ticker run
    again, without the time another process held the core (a loaded machine preempts).
    """

    def __init__(self) -> None:
        self.gap_max_s = 0.0
        self.tick_count = 0

    async def run(self) -> None:
        last = time.thread_time()
        while True:
            await asyncio.sleep(0)
            current = time.thread_time()
            self.gap_max_s = max(self.gap_max_s, current - last)
            self.tick_count += 1
            last = current


def _toxic(toxic_type: str, **attributes: int) -> Toxic:
    return parse_new_toxic({"type": toxic_type, "attributes": attributes}, order=0)


async def _apply_with_ticker(
    toxic: Toxic, chunks: list[Chunk], link: FakeLink
) -> tuple[list[bytes], Ticker]:
    behaviour = start_behaviour(toxic, link)
    emitted: list[bytes] = []
    ticker = Ticker()
    ticking = asyncio.create_task(ticker.run())
    await asyncio.sleep(0)
    for chunk in chunks:
        emitted.extend([piece.data async for piece in behaviour.apply(chunk)])
    ticking.cancel()
    return emitted, ticker


@pytest.mark.parametrize("loop", ["uvloop", "asyncio"])
def test_a_slicer_at_delay_0_yields_while_it_slices(loop: str) -> None:
    data = bytes(range(256)) * 1024  # one 256 KiB read
    toxic = _toxic("slicer", average_size=1, size_variation=0, delay=0)

    async def main() -> tuple[list[bytes], Ticker]:
        return await _apply_with_ticker(toxic, [Chunk(data, now())], FakeLink())

    emitted, ticker = event_loop.run(main(), loop=loop)
    assert b"".join(emitted) == data
    assert len(emitted) == len(data)
    assert ticker.tick_count > 10
    assert ticker.gap_max_s < GAP_MAX_S


@pytest.mark.parametrize("loop", ["uvloop", "asyncio"])
def test_latency_with_a_backlog_of_passed_deadlines_yields(loop: str) -> None:
    toxic = _toxic("latency", latency=1)
    old = now() - 10.0  # every deadline passed long ago
    chunks = [Chunk(b"x", old) for _ in range(50_000)]

    async def main() -> tuple[list[bytes], Ticker]:
        return await _apply_with_ticker(toxic, chunks, FakeLink())

    emitted, ticker = event_loop.run(main(), loop=loop)
    assert len(emitted) == len(chunks)
    assert ticker.tick_count > 10
    assert ticker.gap_max_s < GAP_MAX_S


def test_latency_never_lets_a_chunk_go_early() -> None:
    toxic = _toxic("latency", latency=20)

    async def main() -> list[float]:
        behaviour = start_behaviour(toxic, FakeLink())
        delays = []
        for _ in range(20):
            arrival = now()
            async for _piece in behaviour.apply(Chunk(b"x", arrival)):
                delays.append(now() - arrival)
        return delays

    delays = event_loop.run(main(), loop="uvloop")
    assert min(delays) >= 0.020


def test_the_roll_is_the_first_draw_of_the_links_generator() -> None:
    toxic = parse_new_toxic({"type": "noop", "toxicity": 0.5}, order=3)
    link = FakeLink(seed=11)

    async def main() -> bool:
        return start_behaviour(toxic, link).active

    active = event_loop.run(main(), loop="asyncio")
    expected = link_random(11, proxy="p", connection=1, toxic=toxic).random()
    assert link.rolls == [("noop_downstream", expected, expected < 0.5)]
    assert active is (expected < 0.5)


def test_limit_data_ends_the_stream_at_its_place() -> None:
    toxic = parse_new_toxic({"type": "limit_data", "attributes": {"bytes": 5}}, order=4)
    link = FakeLink()

    async def main() -> list[bytes]:
        return (
            await _apply_with_ticker(toxic, [Chunk(b"abc", now()), Chunk(b"defg", now())], link)
        )[0]

    assert event_loop.run(main(), loop="asyncio") == [b"abc", b"de"]
    assert link.ended_at == 4
    assert link.byte_count == 7
