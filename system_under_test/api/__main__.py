"""`python -m system_under_test.api --listen HOST:PORT [--admin-listen 127.0.0.1:PORT]`
(settings from PAYCHAOS_* variables). The admin listener exists in test mode only, and only on
loopback."""

import argparse
import asyncio
import logging
import signal
import sys

from aiohttp import web

from system_under_test.admin import admin_address, make_admin_app
from system_under_test.api.app import make_app
from system_under_test.config import ConfigError, ServiceConfig, parse_address, service_config
from system_under_test.failpoints import Failpoints

log = logging.getLogger("paychaos.api")


async def serve(config: ServiceConfig, listen: tuple[str, int], admin: tuple[str, int] | None):
    """Serve the API (and the admin endpoint) until SIGTERM or SIGINT."""
    failpoints = Failpoints()
    runners = [web.AppRunner(make_app(config, failpoints), access_log=None)]
    if admin is not None:
        runners.append(web.AppRunner(make_admin_app(failpoints), access_log=None))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signal_number in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signal_number, stop.set)
    started: list[web.AppRunner] = []
    try:
        for runner, (host, port) in zip(runners, [listen, admin], strict=False):
            await runner.setup()
            started.append(runner)
            await web.TCPSite(runner, host, port).start()
        log.info("serving on %s:%d", *listen)
        await stop.wait()
    finally:
        for runner in reversed(started):
            await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(prog="paychaos-api", description=__doc__)
    parser.add_argument("--listen", required=True, help="HOST:PORT to serve on")
    parser.add_argument("--admin-listen", help="loopback HOST:PORT of the admin endpoint")
    arguments = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    try:
        listen = parse_address(arguments.listen)
        config = service_config()
        admin = admin_address(arguments.admin_listen, test_mode=config.test_mode)
    except (ConfigError, ValueError) as error:
        print(f"paychaos-api: {error}", file=sys.stderr)
        sys.exit(3)
    try:
        asyncio.run(serve(config, listen, admin))
    except OSError as error:
        print(f"paychaos-api: cannot listen: {error}", file=sys.stderr)
        sys.exit(3)


if __name__ == "__main__":
    main()
