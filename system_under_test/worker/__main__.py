"""`python -m system_under_test.worker [--admin-listen 127.0.0.1:PORT]`: the recovery loop and
the idempotency-key reaper (settings from PAYCHAOS_* variables)."""

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
import time

import uvloop

from system_under_test.admin import admin_address, serve_admin
from system_under_test.config import (
    EXIT_START_REFUSED,
    ConfigError,
    ServiceConfig,
    service_config,
)
from system_under_test.database import close_pool, make_pool
from system_under_test.failpoints import FailpointError, Failpoints
from system_under_test.network_client import CardNetworkClient
from system_under_test.payments.connections import TRANSIENT_ERRORS
from system_under_test.worker import READY_LINE
from system_under_test.worker.reaper import reap_once
from system_under_test.worker.recovery import recover_once

log = logging.getLogger("paychaos.worker")

RECOVERY_INTERVAL_S = 0.5
# Keys live 24 h; looking for expired ones every few seconds is plenty.
REAP_INTERVAL_S = 5.0


async def run(config: ServiceConfig, admin: tuple[str, int] | None = None) -> None:
    """Recover every RECOVERY_INTERVAL_S and reap every REAP_INTERVAL_S until SIGTERM/SIGINT;
    in test mode, serve the admin endpoint at `admin` too."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signal_number in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signal_number, stop.set)
    failpoints = Failpoints()
    runner = await serve_admin(failpoints, admin) if admin is not None else None
    # The API's kind of connection: recovery runs the API's own statements (payments.sql).
    money = await make_pool(config.primary_dsn, asynchronous_commit=config.asynchronous_commit)
    next_reap_s = time.monotonic()
    try:
        async with CardNetworkClient(
            config.network_url, timeout_s=config.network_timeout_s
        ) as network:
            log.info(READY_LINE)
            while not stop.is_set():
                try:
                    await recover_once(money, network, failpoints)
                    if time.monotonic() >= next_reap_s:
                        await reap_once(money)
                        next_reap_s = time.monotonic() + REAP_INTERVAL_S
                except TRANSIENT_ERRORS as error:
                    log.warning("worker pass failed: %s: %s", type(error).__name__, error)
                except FailpointError as error:
                    # An armed `error` ends this pass, as a bug would; the next pass goes on.
                    log.warning("worker pass failed: %s", error)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), RECOVERY_INTERVAL_S)
    finally:
        await close_pool(money)
        if runner is not None:
            await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(prog="paychaos-worker", description=__doc__)
    parser.add_argument("--admin-listen", help="loopback HOST:PORT of the admin endpoint")
    arguments = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    try:
        config = service_config()
        admin = admin_address(arguments.admin_listen, test_mode=config.test_mode)
    except (ConfigError, ValueError) as error:
        print(f"paychaos-worker: {error}", file=sys.stderr)
        sys.exit(EXIT_START_REFUSED)
    try:
        # uvloop: the same asyncio code with less time per event.
        uvloop.run(run(config, admin))
    except OSError as error:
        print(f"paychaos-worker: cannot listen: {error}", file=sys.stderr)
        sys.exit(EXIT_START_REFUSED)


if __name__ == "__main__":
    main()
