"""`python -m system_under_test.api --listen HOST:PORT [--admin-listen 127.0.0.1:PORT]`
(settings from PAYCHAOS_* variables). The admin listener exists in test mode only, and only on
loopback."""

import argparse
import asyncio
import logging
import os
import signal
import subprocess
import sys

import uvloop
from aiohttp import web

from system_under_test.admin import admin_address, make_admin_app
from system_under_test.api import processes
from system_under_test.api.app import make_app
from system_under_test.config import (
    EXIT_CHILD_DIED,
    EXIT_START_REFUSED,
    ConfigError,
    ServiceConfig,
    parse_address,
    service_config,
)
from system_under_test.failpoints import Failpoints

log = logging.getLogger("paychaos.api")


async def serve(
    config: ServiceConfig,
    listen: tuple[str, int],
    admin: tuple[str, int] | None,
    *,
    failpoints: Failpoints,
    children: list[subprocess.Popen],
) -> bool:
    """Serve the API (and the admin endpoint) until SIGTERM or SIGINT, or until one of
    `children` (the API's other processes) exits; returns False in that last case."""
    runners = [web.AppRunner(make_app(config, failpoints), access_log=None)]
    if admin is not None:
        runners.append(web.AppRunner(make_admin_app(failpoints), access_log=None))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signal_number in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signal_number, stop.set)
    # Several processes share the port; one alone does not, so that a stale one is an error.
    reuse_port = config.api_processes > 1
    started: list[web.AppRunner] = []
    watcher = asyncio.create_task(processes.watch_children(children, stop))
    try:
        for runner, (host, port) in zip(runners, [listen, admin], strict=False):
            await runner.setup()
            started.append(runner)
            site_reuse = reuse_port and (host, port) == listen
            await web.TCPSite(runner, host, port, reuse_port=site_reuse or None).start()
        log.info("serving on %s:%d (pid %d)", *listen, os.getpid())
        await stop.wait()
    finally:
        # Done by itself means a child died; a signal stops the watcher instead.
        child_died = watcher.done() and not watcher.cancelled()
        watcher.cancel()
        for runner in reversed(started):
            await runner.cleanup()
    return not child_died


def main() -> None:
    parser = argparse.ArgumentParser(prog="paychaos-api", description=__doc__)
    parser.add_argument("--listen", required=True, help="HOST:PORT to serve on")
    parser.add_argument("--admin-listen", help="loopback HOST:PORT of the admin endpoint")
    # Set by the API itself on the processes it starts (api/processes.py), never by hand.
    parser.add_argument(processes.CHILD_OF_FLAG, type=int, help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    child = arguments.child_of is not None
    try:
        listen = parse_address(arguments.listen)
        config = service_config()
        admin = None if child else admin_address(arguments.admin_listen, test_mode=config.test_mode)
    except (ConfigError, ValueError) as error:
        print(f"paychaos-api: {error}", file=sys.stderr)
        sys.exit(EXIT_START_REFUSED)
    several = config.api_processes > 1
    failpoints = processes.SingleProcessFailpoints() if several else Failpoints()
    children = (
        [] if child or not several else processes.start_children(config.api_processes - 1, listen)
    )
    try:
        # uvloop: the same asyncio code with less time per event.
        healthy = uvloop.run(serve(config, listen, admin, failpoints=failpoints, children=children))
    except OSError as error:
        print(f"paychaos-api: cannot listen: {error}", file=sys.stderr)
        sys.exit(EXIT_START_REFUSED)
    finally:
        processes.stop_children(children)
    if not healthy:
        sys.exit(EXIT_CHILD_DIED)


if __name__ == "__main__":
    main()
