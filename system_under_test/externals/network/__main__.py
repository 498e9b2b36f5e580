"""`python -m system_under_test.externals.network --listen HOST:PORT --database PATH`."""

import argparse
import asyncio
from pathlib import Path

from http_bounds import ServerBounds, run_bounded
from system_under_test.externals.network.server import make_app

# The simulator's own bounds: it is an independent party and shares no settings with the API.
NETWORK_BOUNDS = ServerBounds(
    # Its clients (the API's and the worker's aiohttp sessions) keep an idle connection 15 s,
    # and the network link is the slowest of the scenarios (network-timeouts delays requests
    # 6 s, 2 s + 0.8 s of jitter, answers 1.2 s + 0.4 s): 30 s covers a request sent at the
    # end of a client's keep-alive and arriving that late.
    header_read_timeout_s=30.0,
    # A late authorization must still be recorded (and refused as expired), so its body may
    # come a whole link's latency after its headers: 20 s is three times the 6.8 s worst case.
    body_read_timeout_s=20.0,
    # Every caller is on loopback: up to 32 API processes and the worker, each with aiohttp's
    # 100 connections per session at most, is 3,300 connections.
    connections_per_address_max=4096,
)


def parse_address(text: str) -> tuple[str, int]:
    """Split `host:port`, with a clear error for anything else.

    The simulator parses its own arguments: it shares no code with the payments system.

    >>> parse_address("127.0.0.1:8080")
    ('127.0.0.1', 8080)
    """
    host, _, port = text.rpartition(":")
    if not host or not port.isascii() or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"bad address {text!r}: expected host:port")
    return host, int(port)


def main() -> None:
    parser = argparse.ArgumentParser(prog="paychaos-network", description=__doc__)
    parser.add_argument("--listen", required=True, help="HOST:PORT to serve on")
    parser.add_argument("--database", required=True, type=Path, help="SQLite file of records")
    arguments = parser.parse_args()
    host, port = parse_address(arguments.listen)
    asyncio.run(run_bounded(make_app(arguments.database), host, port, NETWORK_BOUNDS))


if __name__ == "__main__":
    main()
