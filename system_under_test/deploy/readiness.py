"""When a started service is ready: every listener the spec gives it is up and held by the
service itself, and its own check (a health answer, pg_isready, a log line) holds.

A port that answers may be another process's: two topologies planned at once can pick the
same free port. Ownership is read from the kernel (port_owners) before any check talks to
the port, so a check never reaches an intruder, and a port held by another process is a
PortCollision naming it, which the deployment answers with a fresh address plan.
"""

from collections.abc import Callable
from pathlib import Path

import requests

from system_under_test.deploy.errors import DeployError
from system_under_test.deploy.port_owners import group_sockets, listening_sockets
from system_under_test.deploy.ports import PortCollision, is_bindable
from system_under_test.deploy.processes import ServiceProcess

HTTP_PROBE_TIMEOUT_S = 1.0

ReadyCheck = Callable[[], bool]


def http_ok(url: str) -> bool:
    """Whether a GET of `url` answers 200 within HTTP_PROBE_TIMEOUT_S."""
    try:
        return requests.get(url, timeout=HTTP_PROBE_TIMEOUT_S).status_code == 200
    except requests.RequestException:
        return False


def log_count_check(path: Path, line: str) -> ReadyCheck:
    """A readiness check: `line` appears once more in `path` than when last seen, so the
    same check also tells a restarted service (which appends to the log) is ready."""

    def count() -> int:
        try:
            return path.read_text(errors="replace").count(line)
        except OSError:
            return 0

    seen = count()

    def check() -> bool:
        nonlocal seen
        current = count()
        ready, seen = current > seen, max(seen, current)
        return ready

    return check


def listeners_held(process: ServiceProcess, listeners: dict[str, int]) -> bool:
    """Whether every listener (name -> port) is up and held by `process` or its children.

    Raises PortCollision when another process listens on one of the ports.
    """
    group = process.pid
    if group is None:
        return False
    ours: set[int] | None = None
    for name, port in listeners.items():
        listening = listening_sockets(port)
        if not listening:
            return False
        ours = group_sockets(group) if ours is None else ours
        if not listening <= ours:
            raise PortCollision(port, f"{name} of {process.name}", "is held by another process")
    return True


def taken_by_another(process: ServiceProcess, listeners: dict[str, int]) -> PortCollision | None:
    """A collision for the first listener's port that another process holds, if any: why a
    service that could not bind (it exited, or the proxy refused a link) failed."""
    ours = group_sockets(process.pid) if process.pid is not None else set()
    for name, port in listeners.items():
        listening = listening_sockets(port)
        if listening and listening <= ours:
            continue
        if not is_bindable(port):
            return PortCollision(port, f"{name} of {process.name}", "is held by another process")
    return None


def wait_ready(
    process: ServiceProcess, listeners: dict[str, int], check: ReadyCheck, *, timeout_s: float
) -> None:
    """Wait until every listener of `process` is its own and `check` holds.

    Raises PortCollision when another process holds one of its ports, else DeployError if the
    process exits or `timeout_s` passes first.
    """
    try:
        process.wait_ready(
            lambda: listeners_held(process, listeners) and check(), timeout_s=timeout_s
        )
    except PortCollision:
        raise
    except DeployError as error:
        collision = taken_by_another(process, listeners)
        if collision is not None:
            raise collision from error
        raise
