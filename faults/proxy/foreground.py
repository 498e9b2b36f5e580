"""Run the fault proxy server in the foreground until SIGTERM or SIGINT (a drop-in for
toxiproxy-server); shared by `python -m faults.proxy` and `paychaos proxy`."""

from __future__ import annotations

import asyncio
import contextlib
import signal

from faults.proxy import loop as event_loop
from faults.proxy.address import format_address
from faults.proxy.errors import os_error_reason
from faults.proxy.server import CLOSE_WAIT_MAX_S, ProxyServer


class CannotListen(Exception):
    """The API address could not be bound; the message is one line naming it and why."""


async def _serve(host: str, port: int, seed: int | None) -> None:
    server = ProxyServer(host=host, port=port, seed=seed)
    try:
        await server.start()
    except OSError as error:
        address = format_address(host, port)
        raise CannotListen(f"cannot listen on {address}: {os_error_reason(error)}") from None
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signal_number in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signal_number, stop.set)
    print(f"ready {format_address(*server.address)}", flush=True)
    try:
        await stop.wait()
    finally:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(CLOSE_WAIT_MAX_S):
                await server.close()


def serve_until_stopped(
    *, host: str, port: int, seed: int | None = None, loop: str = event_loop.DEFAULT_LOOP
) -> None:
    """Serve the API on `host:port` until SIGTERM or SIGINT, then close everything.

    Prints `ready HOST:PORT` on stdout once the API listens. Raises CannotListen if the
    address cannot be bound.
    """
    event_loop.run(_serve(host, port, seed), loop=loop)
