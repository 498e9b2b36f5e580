"""The event loop the proxy runs on: uvloop by default, asyncio's own on request.

uvloop runs the same asyncio code on libuv. Why it is the default, from four runs of
`python -m tests.benchmarks.proxy` (both loops in each run, on a shared 2-core machine):

- time added per round trip without toxics, p50: uvloop +17, -31, -23, -3 µs against
  asyncio +56, +13, +31, +6 µs beside the direct connection;
- records through a 100 ms latency toxic, p50: 100.2 ms against 101.0 ms, because asyncio
  rounds its select() timeout up to the next millisecond;
- plain throughput: the same within noise (689-897 against 672-808 MB/s): about 90% of the
  proxy's CPU time is the kernel copying bytes, which no event loop changes.

`--loop asyncio` stays available to compare, and for platforms uvloop does not build on.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import uvloop

LOOP_FACTORIES: dict[str, Callable[[], asyncio.AbstractEventLoop]] = {
    "uvloop": uvloop.new_event_loop,
    "asyncio": asyncio.new_event_loop,
}
DEFAULT_LOOP = "uvloop"

T = TypeVar("T")


def run(main: Coroutine[Any, Any, T], *, loop: str = DEFAULT_LOOP) -> T:
    """Run `main` to completion on a new event loop of the kind named `loop`.

    >>> async def answer() -> int:
    ...     return 42
    >>> run(answer(), loop="asyncio")
    42
    """
    if loop not in LOOP_FACTORIES:
        raise ValueError(f"unknown event loop {loop!r}; choose one of {sorted(LOOP_FACTORIES)}")
    with asyncio.Runner(loop_factory=LOOP_FACTORIES[loop]) as runner:
        return runner.run(main)
