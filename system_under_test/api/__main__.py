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

from http_bounds import BoundedSite, ServerBounds, bounded_runner
from system_under_test.admin import ADMIN_BOUNDS, admin_address, make_admin_app
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

API_BOUNDS = ServerBounds(
    # Headers (and an idle keep-alive connection) at most 30 s: the clients' own keep-alive is
    # 15 s (aiohttp's), and a request sent at its end crosses the api link with at most
    # ~1.5 s of added latency each way (the random nemesis draws up to 1,550 ms), so no client
    # ever sends on a connection being closed; a legitimate request's headers take
    # milliseconds to ~1.5 s.
    header_read_timeout_s=30.0,
    # Forms are a few hundred bytes, sent with their headers: 10 s covers ~1.5 s of latency per
    # chunk several times over and is above every client's timeout (1 to 10 s).
    body_read_timeout_s=10.0,
    # Every client reaches the API from loopback (the workload through the proxy, the bench
    # driver with up to 256 connections, the SDK), and the integration suite's contract check
    # keeps every answer of its 5,000 generated requests, and with it the connection, until
    # the test ends. 8,192 is above all of them: a bound against a flood from one address; the
    # header and body timeouts are what free the connections of slow clients.
    connections_per_address_max=8192,
)


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
    servers = [(make_app(config, failpoints), listen, API_BOUNDS)]
    if admin is not None:
        servers.append((make_admin_app(failpoints), admin, ADMIN_BOUNDS))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signal_number in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signal_number, stop.set)
    # Several processes share the port; one alone does not, so that a stale one is an error.
    reuse_port = config.api_processes > 1
    started: list[web.AppRunner] = []
    watcher = asyncio.create_task(processes.watch_children(children, stop))
    try:
        for app, (host, port), bounds in servers:
            runner = bounded_runner(app, bounds, access_log=None)
            await runner.setup()
            started.append(runner)
            site_reuse = reuse_port and (host, port) == listen
            site = BoundedSite(runner, host, port, bounds=bounds, reuse_port=site_reuse or None)
            await site.start()
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
