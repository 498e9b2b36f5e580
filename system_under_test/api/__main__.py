"""`python -m system_under_test.api --listen HOST:PORT` (settings from PAYCHAOS_* variables)."""

import argparse
import logging
import sys

from aiohttp import web

from system_under_test.api.app import make_app
from system_under_test.config import ConfigError, parse_address, service_config


def main() -> None:
    parser = argparse.ArgumentParser(prog="paychaos-api", description=__doc__)
    parser.add_argument("--listen", required=True, help="HOST:PORT to serve on")
    arguments = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    try:
        host, port = parse_address(arguments.listen)
        config = service_config()
    except (ConfigError, ValueError) as error:
        print(f"paychaos-api: {error}", file=sys.stderr)
        sys.exit(3)
    web.run_app(make_app(config), host=host, port=port, print=None, access_log=None)


if __name__ == "__main__":
    main()
