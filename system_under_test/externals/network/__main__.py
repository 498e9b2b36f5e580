"""`python -m system_under_test.externals.network --listen HOST:PORT --database PATH`."""

import argparse
from pathlib import Path

from aiohttp import web

from system_under_test.externals.network.server import make_app


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
    web.run_app(make_app(arguments.database), host=host, port=port, print=None)


if __name__ == "__main__":
    main()
