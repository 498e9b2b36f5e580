"""The interface every deployment backend gives (start, endpoints by service name, kill,
pause, resume, restart, logs, tear down) and the registry of backends by name.

A backend registers itself with :func:`register_backend`; the harness makes a topology with
:func:`new_topology`, so that a new backend is one registration, not an edit of its callers.
"""

import abc
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from system_under_test.deploy.errors import DeployError


@dataclass(frozen=True)
class Merchant:
    id: str
    api_key: str


@dataclass(frozen=True)
class Endpoints:
    """Where everything of a started topology is; the harness writes it to its run files."""

    backend: str
    run_dir: str
    proxy_api: str
    # Service name -> its own host:port (behind the proxy).
    services: dict[str, str]
    # Proxy name -> {"listen": host:port, "upstream": host:port}.
    links: dict[str, dict[str, str]]
    # The workload's address of the API: through the `api` link.
    api_url: str
    # Direct addresses for final reads, which bypass every fault.
    primary_dsn: str
    network_url: str
    merchants: list[Merchant]
    defects: list[str] = field(default_factory=list)
    # Service name -> base URL of its admin endpoint (test mode: failpoints), on loopback.
    admin_urls: dict[str, str] = field(default_factory=dict)


class Topology(abc.ABC):
    """A running payments system with its fault proxy. Always torn down, also on errors."""

    @abc.abstractmethod
    def start(self) -> Endpoints:
        """Start every service; on any failure, stop what was started and raise DeployError."""

    @abc.abstractmethod
    def endpoints(self) -> Endpoints:
        """Where the started topology's services, links and merchants are."""

    @abc.abstractmethod
    def kill(self, service: str) -> int | None:
        """SIGKILL a service and reap it; returns its exit status."""

    @abc.abstractmethod
    def pause(self, service: str) -> None:
        """SIGSTOP a service."""

    @abc.abstractmethod
    def resume(self, service: str) -> None:
        """SIGCONT a paused service."""

    @abc.abstractmethod
    def restart(self, service: str) -> None:
        """Start a stopped or killed service again and wait until it is ready."""

    @abc.abstractmethod
    def running(self, service: str) -> bool:
        """Whether the service's process is alive (paused counts as alive)."""

    @abc.abstractmethod
    def stopped(self, service: str) -> bool:
        """Whether the service is paused (SIGSTOP)."""

    @abc.abstractmethod
    def pid(self, service: str) -> int | None:
        """The service's process id while it runs."""

    @abc.abstractmethod
    def primary_dsn(self) -> str:
        """The current primary, directly (around the proxy): final reads go there."""

    @abc.abstractmethod
    def replica_dsn(self) -> str | None:
        """The current replica, directly; None once it was promoted."""

    @abc.abstractmethod
    def promote_replica(self) -> dict[str, str]:
        """Promote the replica to primary and fence (stop) the old primary."""

    @abc.abstractmethod
    def collect_logs(self) -> list[Path]:
        """The service log files of this topology."""

    @abc.abstractmethod
    def teardown(self) -> None:
        """Stop every service and free every port; safe to call more than once."""

    def __enter__(self) -> "Topology":
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.teardown()


# How a backend makes its topology: ``factory(run_dir, **options)``, the options being the
# keywords of LocalTopology (defects, proxy_api_port, merchant_count, service_environment,
# seed, replication); every backend takes them all.
TopologyFactory = Callable[..., Topology]
DEFAULT_BACKEND = "local"
_BACKENDS: dict[str, TopologyFactory] = {}


def register_backend(name: str, factory: TopologyFactory) -> None:
    """Make ``name`` a deployment backend; its module calls this when imported."""
    assert name not in _BACKENDS, f"backend {name!r} registered twice"
    _BACKENDS[name] = factory


def backend_names() -> tuple[str, ...]:
    """The registered backends, sorted."""
    return tuple(sorted(_BACKENDS))


def new_topology(run_dir: Path, *, backend: str = DEFAULT_BACKEND, **options: Any) -> Topology:
    """A topology of ``backend`` (not started yet) whose files go to ``run_dir``.

    >>> topology = new_topology(Path("reports/runs/r1"), merchant_count=2)  # doctest: +SKIP
    """
    try:
        factory = _BACKENDS[backend]
    except KeyError:
        known = ", ".join(backend_names())
        raise DeployError(f"unknown deployment backend {backend!r} (known: {known})") from None
    return factory(run_dir, **options)
