"""Command line: `python -m faults.proxy --host 127.0.0.1 --port 8474 [--seed N]`.

Prints `ready HOST:PORT` on stdout once the API listens, serves until SIGTERM or SIGINT, then
closes every listener and connection and exits 0. Exits 3 with one line on stderr if the API
address cannot be bound.
"""

from __future__ import annotations

import argparse
import logging
import sys

from faults.proxy.address import port_argument
from faults.proxy.foreground import CannotListen, serve_until_stopped
from faults.proxy.loop import DEFAULT_LOOP, LOOP_FACTORIES
from faults.proxy.server import DEFAULT_HOST, DEFAULT_PORT

PROGRAM = "paychaos-proxy"
EXIT_OK = 0
# The project's "harness error" (reports.exit_codes); a test holds the two equal.
EXIT_CANNOT_LISTEN = 3


def _parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m faults.proxy",
        description="A TCP fault proxy speaking the Toxiproxy 2.x HTTP API.",
    )
    parser.add_argument("--host", default=DEFAULT_HOST, help="API host (default %(default)s)")
    parser.add_argument(
        "--port", type=port_argument, default=DEFAULT_PORT, help="API port, 0 for a free one"
    )
    parser.add_argument(
        "--seed",
        type=int,
        help="seed of the toxicity rolls, jitter and slice sizes (default: a random one, "
        "reported by GET /paychaos/decisions)",
    )
    parser.add_argument(
        "--loop",
        default=DEFAULT_LOOP,
        choices=sorted(LOOP_FACTORIES),
        help="event loop (default %(default)s)",
    )
    parser.add_argument(
        "--log-level",
        default="info",
        choices=["debug", "info", "warning", "error"],
        help="stderr log level (default %(default)s)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the fault proxy until SIGTERM/SIGINT; return the process exit code."""
    arguments = _parse_arguments(argv)
    logging.basicConfig(
        stream=sys.stderr,
        level=arguments.log_level.upper(),
        format=f"{PROGRAM}: %(levelname)s %(message)s",
    )
    try:
        serve_until_stopped(
            host=arguments.host, port=arguments.port, seed=arguments.seed, loop=arguments.loop
        )
    except CannotListen as error:
        print(f"{PROGRAM}: {error}", file=sys.stderr)
        return EXIT_CANNOT_LISTEN
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
