"""Service configuration, read from the environment that `deploy` sets for each process.

The variable names are owned here; the deployment imports them.
"""

import math
import os
from dataclasses import dataclass

from system_under_test.defects import (
    ACK_BEFORE_COMMIT,
    BALANCE_FROM_REPLICA,
    DEFECTS_ENV,
    defects_from_environment,
)

PRIMARY_DSN_ENV = "PAYCHAOS_PRIMARY_DSN"
REPLICA_DSN_ENV = "PAYCHAOS_REPLICA_DSN"
NETWORK_URL_ENV = "PAYCHAOS_NETWORK_URL"
TEST_MODE_ENV = "PAYCHAOS_TEST_MODE"
NETWORK_TTL_ENV = "PAYCHAOS_NETWORK_TTL_S"
NETWORK_TIMEOUT_ENV = "PAYCHAOS_NETWORK_TIMEOUT_S"
LOCK_TTL_ENV = "PAYCHAOS_IDEMPOTENCY_LOCK_TTL_S"
API_PROCESSES_ENV = "PAYCHAOS_API_PROCESSES"

# A process that refuses to start (a missing or bad setting, an unknown defect, an address it
# cannot bind) exits with this, one line on stderr naming why: the harness's "error" code, since
# a deployment that never started says nothing of the system.
EXIT_START_REFUSED = 3
# The API's first process exits with this when one of its other processes died under it.
EXIT_CHILD_DIED = 1

# How long the network accepts a movement after it was prepared; recovery waits this long
# before a look-up, which is then definitive.
NETWORK_TTL_S_DEFAULT = 5.0
# Per-request bound on a call to the network; shorter than the TTL so a send can finish.
NETWORK_TIMEOUT_S_DEFAULT = 1.5
# A key's lock older than this belongs to a request presumed dead and may be taken over.
# Longer than a healthy request (a network timeout plus database work); fencing keeps a
# takeover safe even when the request was only slow.
LOCK_TTL_S_DEFAULT = 15.0
# Processes serving the API on one port (SO_REUSEPORT). One by default: a failpoint armed over
# the admin endpoint lives in one process's memory, so failpoints need a single process.
API_PROCESSES_DEFAULT = 1
# More processes than this on one machine only add context switches.
API_PROCESSES_MAX = 32


class ConfigError(ValueError):
    """A missing or malformed setting."""


def _required(name: str) -> str:
    value = os.environ.get(name, "").strip()
    if not value:
        raise ConfigError(f"missing environment variable {name}")
    return value


def _seconds(name: str, default: float) -> float:
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        raise ConfigError(f"{name}={text!r} is not a number of seconds") from None
    if not math.isfinite(value) or value <= 0:
        raise ConfigError(f"{name}={text!r} must be a positive number of seconds")
    return value


def _count(name: str, default: int, maximum: int) -> int:
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= maximum:
        raise ConfigError(f"{name}={text!r} must be a whole number from 1 to {maximum}")
    return int(text)


def parse_address(text: str) -> tuple[str, int]:
    """Split `host:port`, with a clear error for anything else."""
    host, _, port = text.rpartition(":")
    if not host or not port.isascii() or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"bad address {text!r}: expected host:port")
    return host, int(port)


@dataclass(frozen=True, kw_only=True)
class ServiceConfig:
    """What the API and the worker need to reach their dependencies."""

    primary_dsn: str
    replica_dsn: str | None
    network_url: str
    defects: frozenset[str]
    # Failpoints, the admin endpoint and defect switches exist only in test mode.
    test_mode: bool
    network_ttl_s: float
    network_timeout_s: float
    lock_ttl_s: float
    # Processes serving the API (the API reads it; the worker runs as one process).
    api_processes: int = API_PROCESSES_DEFAULT

    @property
    def asynchronous_commit(self) -> bool:
        """Whether commits return before they are durable (only under ack-before-commit)."""
        return ACK_BEFORE_COMMIT in self.defects


def service_config() -> ServiceConfig:
    """Configuration of the API or worker process from PAYCHAOS_* variables."""
    test_mode = os.environ.get(TEST_MODE_ENV, "") == "1"
    defects = defects_from_environment()
    if defects and not test_mode:
        raise ConfigError(f"{DEFECTS_ENV} needs test mode ({TEST_MODE_ENV}=1)")
    config = ServiceConfig(
        primary_dsn=_required(PRIMARY_DSN_ENV),
        replica_dsn=os.environ.get(REPLICA_DSN_ENV) or None,
        network_url=_required(NETWORK_URL_ENV).rstrip("/"),
        defects=defects,
        test_mode=test_mode,
        network_ttl_s=_seconds(NETWORK_TTL_ENV, NETWORK_TTL_S_DEFAULT),
        network_timeout_s=_seconds(NETWORK_TIMEOUT_ENV, NETWORK_TIMEOUT_S_DEFAULT),
        lock_ttl_s=_seconds(LOCK_TTL_ENV, LOCK_TTL_S_DEFAULT),
        api_processes=_count(API_PROCESSES_ENV, API_PROCESSES_DEFAULT, API_PROCESSES_MAX),
    )
    if BALANCE_FROM_REPLICA in defects and config.replica_dsn is None:
        # Without a replica the defect would read the primary: a switch that does nothing.
        raise ConfigError(f"{BALANCE_FROM_REPLICA} needs a replica ({REPLICA_DSN_ENV})")
    if config.network_timeout_s >= config.network_ttl_s:
        raise ConfigError(
            f"{NETWORK_TIMEOUT_ENV} ({config.network_timeout_s}) must be below "
            f"{NETWORK_TTL_ENV} ({config.network_ttl_s}): a send must end before its deadline"
        )
    return config
