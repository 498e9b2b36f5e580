"""Command line: `python -m faults.proxy --host 127.0.0.1 --port 8474`.

Prints `ready HOST:PORT` on stdout once the API listens, serves until SIGTERM or SIGINT, then
closes every listener and connection and exits 0. Exits 3 with one line on stderr if the API
address cannot be bound.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys

from faults.proxy.address import PORT_MAX, format_address
from faults.proxy.errors import os_error_reason
from faults.proxy.server import CLOSE_WAIT_MAX_S, DEFAULT_HOST, DEFAULT_PORT, ProxyServer

PROGRAM = "paychaos-proxy"
EXIT_OK = 0
EXIT_CANNOT_LISTEN = 3  # the project's "harness error"


def _port(text: str) -> int:
    port = int(text)
    if not 0 <= port <= PORT_MAX:
        raise argparse.ArgumentTypeError(f"port must be from 0 to {PORT_MAX}, got {port}")
    return port


def _parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m faults.proxy",
        description="A TCP fault proxy speaking the Toxiproxy 2.x HTTP API.",
    )
    parser.add_argument("--host", default=DEFAULT_HOST, help="API host (default %(default)s)")
    parser.add_argument(
        "--port", type=_port, default=DEFAULT_PORT, help="API port, 0 for a free one"
    )
    parser.add_argument(
        "--log-level",
        default="info",
        choices=["debug", "info", "warning", "error"],
        help="stderr log level (default %(default)s)",
    )
    return parser.parse_args(argv)


async def _serve(host: str, port: int) -> int:
    server = ProxyServer(host=host, port=port)
    try:
        await server.start()
    except OSError as error:
        address = format_address(host, port)
        print(f"{PROGRAM}: cannot listen on {address}: {os_error_reason(error)}", file=sys.stderr)
        return EXIT_CANNOT_LISTEN
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signal_number in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signal_number, stop.set)
    print(f"ready {format_address(*server.address)}", flush=True)
    await stop.wait()
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(CLOSE_WAIT_MAX_S):
            await server.close()
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    """Run the fault proxy until SIGTERM/SIGINT; return the process exit code."""
    arguments = _parse_arguments(argv)
    logging.basicConfig(
        stream=sys.stderr,
        level=arguments.log_level.upper(),
        format=f"{PROGRAM}: %(levelname)s %(message)s",
    )
    return asyncio.run(_serve(arguments.host, arguments.port))


if __name__ == "__main__":
    sys.exit(main())
