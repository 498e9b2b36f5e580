"""Service configuration, read from the environment that `deploy` sets for each process."""

import os
from dataclasses import dataclass

from system_under_test.defects import defects_from_environment


class ConfigError(ValueError):
    """A missing or malformed setting."""


def _required(name: str) -> str:
    value = os.environ.get(name, "").strip()
    if not value:
        raise ConfigError(f"missing environment variable {name}")
    return value


def parse_address(text: str) -> tuple[str, int]:
    """Split `host:port`, with a clear error for anything else."""
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        raise ConfigError(f"bad address {text!r}: expected host:port")
    return host, int(port)


@dataclass(frozen=True, kw_only=True)
class ServiceConfig:
    """What the API and the worker need to reach their dependencies."""

    primary_dsn: str
    replica_dsn: str | None
    network_url: str
    defects: frozenset[str]
    # How long the network accepts an authorization after it was prepared; recovery waits this
    # long before a look-up, which is then definitive.
    authorization_ttl_s: float
    # Per-request bound on a call to the network; shorter than the TTL so a send can finish.
    network_timeout_s: float


def service_config() -> ServiceConfig:
    """Configuration of the API or worker process from PAYCHAOS_* variables."""
    return ServiceConfig(
        primary_dsn=_required("PAYCHAOS_PRIMARY_DSN"),
        replica_dsn=os.environ.get("PAYCHAOS_REPLICA_DSN") or None,
        network_url=_required("PAYCHAOS_NETWORK_URL").rstrip("/"),
        defects=defects_from_environment(),
        authorization_ttl_s=float(os.environ.get("PAYCHAOS_AUTHORIZATION_TTL_S", "5")),
        network_timeout_s=float(os.environ.get("PAYCHAOS_NETWORK_TIMEOUT_S", "1.5")),
    )
