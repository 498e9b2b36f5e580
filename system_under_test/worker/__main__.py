"""`python -m system_under_test.worker`: the recovery loop (settings from PAYCHAOS_* variables)."""

import asyncio
import contextlib
import logging
import signal
import sys

from sqlalchemy.exc import SQLAlchemyError

from system_under_test.config import ConfigError, ServiceConfig, service_config
from system_under_test.database import make_engine
from system_under_test.network_client import CardNetworkClient
from system_under_test.worker.recovery import recover_once

log = logging.getLogger("paychaos.worker")

RECOVERY_INTERVAL_S = 0.5


async def run(config: ServiceConfig) -> None:
    """Recover charges every RECOVERY_INTERVAL_S until SIGTERM or SIGINT."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signal_number in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signal_number, stop.set)
    engine = make_engine(config.primary_dsn)
    try:
        async with CardNetworkClient(
            config.network_url, timeout_s=config.network_timeout_s
        ) as network:
            log.info("recovery loop started")
            while not stop.is_set():
                try:
                    await recover_once(engine, network)
                except (SQLAlchemyError, OSError, TimeoutError) as error:
                    log.warning("recovery pass failed: %s: %s", type(error).__name__, error)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), RECOVERY_INTERVAL_S)
    finally:
        await engine.dispose()


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    try:
        config = service_config()
    except (ConfigError, ValueError) as error:
        print(f"paychaos-worker: {error}", file=sys.stderr)
        sys.exit(3)
    asyncio.run(run(config))


if __name__ == "__main__":
    main()
