"""What every fault kind shares: the context it acts in, what it measured, and its interface.

A kind validates its own scenario entry (a JSON schema fragment, then `check` for what a
schema cannot say), prepares (a baseline), starts the fault, measures its configured effect
(`confirm`), and heals it (`stop`). The nemesis schedules kinds through this interface only.
"""

import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from faults.toxiproxy_api import ToxiproxyApi, ToxiproxyError

Params = Mapping[str, Any]

# A schema annotation, which validation ignores: the value scales with the run, as a time on
# its clock or a count of what fits in it ("clock"), or as its request rate ("rate"). A
# scenario run on a shorter clock scales exactly these (scenarios/scaling.py).
SCALES_WITH = "scales_with"
ON_CLOCK = {SCALES_WITH: "clock"}


class ProcessControl(Protocol):
    """What faults need of a topology's processes and databases
    (system_under_test.deploy.Topology has it)."""

    def kill(self, service: str) -> int | None: ...
    def pause(self, service: str) -> None: ...
    def resume(self, service: str) -> None: ...
    def restart(self, service: str) -> None: ...
    def running(self, service: str) -> bool: ...
    def stopped(self, service: str) -> bool: ...
    def pid(self, service: str) -> int | None: ...
    def primary_dsn(self) -> str: ...
    def replica_dsn(self) -> str | None: ...
    def promote_replica(self) -> dict[str, str]: ...


@dataclass(frozen=True)
class FaultContext:
    """Where faults act: the proxy's API, the links, the processes, and the run's clock."""

    toxiproxy: ToxiproxyApi
    # Proxy name -> {"listen": host:port, "upstream": host:port}.
    links: Mapping[str, Mapping[str, str]]
    # Service name -> base URL of its admin endpoint (failpoints), on loopback.
    admin_urls: Mapping[str, str]
    processes: ProcessControl
    # How many movements are PENDING or PROCESSING now; None when it cannot be read (the
    # database restarting): a transient state the caller retries within its bound.
    unresolved_count: Callable[[], Awaitable[int | None]]
    now_s: Callable[[], float]
    # The scenario's seed: a kind that draws (a flapping partition's periods) seeds from it.
    seed: int = 0


@dataclass(frozen=True)
class Measured:
    """A confirmation: whether the configured effect was measured, and the measurements."""

    confirmed: bool
    evidence: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Injection:
    """What a kind's `start` is given: the step's name and parameters, what the kind's
    `prepare` returned, and the step's lifetime (None: the kind's own bound)."""

    name: str
    params: Params
    prepared: dict[str, Any] = field(default_factory=dict)
    lifetime_s: float | None = None


async def proxy_heal(heal: Awaitable[object]) -> Measured:
    """Await a heal through the proxy's API: confirmed unless the proxy refused it."""
    try:
        await heal
    except ToxiproxyError as error:
        return Measured(False, {"heal_error": str(error)})
    return Measured(True, {})


class ActiveFault(Protocol):
    """A started fault: measure its effect while it lasts, then heal it."""

    async def confirm(self) -> Measured: ...

    async def stop(self) -> Measured:
        """Heal; `confirmed` says the heal itself succeeded (false: the run cannot be valid)."""
        ...


class FaultKind(Protocol):
    """One kind of fault (toxic, kill, ...): every fact about it, so that the scenario loader,
    the random nemesis and a stateful test read them here and nowhere else."""

    name: str
    # The JSON schema of its scenario entry: unknown keys refused, types, ranges and defaults.
    schema: Mapping[str, Any]
    # Whether its scenario step gives `duration_s` (a toxic) or derives it (a kill's restart).
    needs_duration: bool
    # The deployment backends it can act on.
    backends: frozenset[str]
    # Whether the seeded random nemesis may choose it (every kind can `draw` its parameters).
    random_nemesis: bool
    # Whether two steps of one target may overlap (each toxic has its own name and heal).
    overlaps: bool
    # Whether it leaves the topology without a replica (a failover promotes it).
    removes_replica: bool

    def draw(self, rng: random.Random) -> dict[str, Any]:
        """Parameters drawn from `rng` that its schema and `check` accept."""
        ...

    def check(self, params: Params, *, replication: str = "async") -> str | None:
        """What the schema cannot check (a relation between values, or with the scenario's
        replication mode), or None if fine; a problem starts with the key it names."""
        ...

    def needs_replica(self, params: Params) -> bool:
        """Whether it acts on the replica (so it cannot come after a failover)."""
        ...

    def target(self, params: Params) -> str:
        """What it acts on: a link or a service."""
        ...

    def lifetime_s(self, params: Params, duration_s: float | None) -> float:
        """How long it lasts from its start (for schedule checks)."""
        ...

    async def prepare(self, context: FaultContext, params: Params) -> dict[str, Any]:
        """What must come before the fault starts (a baseline probe, movements in flight);
        the fault's recorded start follows it."""
        ...

    async def start(self, context: FaultContext, step: Injection) -> ActiveFault:
        """Inject the fault; the step's `lifetime_s` bounds what its confirmation waits for."""
        ...


class KindDefaults:
    """What most fault kinds do alike, for them to inherit and override: the local backend
    only, left out of the random nemesis, no overlaps, no check beyond the schema, nothing to
    prepare, and a lifetime that is the step's duration (0 without one)."""

    name: str
    needs_duration: bool
    backends = frozenset({"local"})
    random_nemesis = False
    overlaps = False
    removes_replica = False

    def check(self, params: Params, *, replication: str = "async") -> str | None:
        return None

    def needs_replica(self, params: Params) -> bool:
        return self.target(params) == "pg-replica"

    def lifetime_s(self, params: Params, duration_s: float | None) -> float:
        if not self.needs_duration:
            return 0.0
        assert duration_s is not None, f"the scenario checks that a {self.name} has a duration"
        return duration_s

    async def prepare(self, context: FaultContext, params: Params) -> dict[str, Any]:
        return {}
