"""`python -m system_under_test.externals.network --listen HOST:PORT --database PATH`."""

import argparse
from pathlib import Path

from aiohttp import web

from system_under_test.config import parse_address
from system_under_test.externals.network.server import make_app


def main() -> None:
    parser = argparse.ArgumentParser(prog="paychaos-network", description=__doc__)
    parser.add_argument("--listen", required=True, help="HOST:PORT to serve on")
    parser.add_argument("--database", required=True, type=Path, help="SQLite file of records")
    arguments = parser.parse_args()
    host, port = parse_address(arguments.listen)
    web.run_app(make_app(arguments.database), host=host, port=port, print=None)


if __name__ == "__main__":
    main()
