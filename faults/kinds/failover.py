"""The `failover` fault kind: the primary is fenced off, the replica promoted, and the
`pg_primary` link repointed at it; the API and the worker must reconnect through the same link.

In order: disable `pg_primary` (no more writes reach the old primary), wait until the replica
has replayed everything the old primary wrote (so nothing acknowledged is lost, whichever
replication mode the scenario chose), promote the replica and stop the old primary (fenced),
point `pg_primary` and `pg_replica` at the new primary (there is no replica left), enable.

Confirmation: the new primary is out of recovery on a new timeline, and the old one refuses
connections. The heal: the SUT's link to its (new) primary is up.
"""

import asyncio
import random
import time
from dataclasses import dataclass, field
from typing import Any

from faults.kinds.base import FaultContext, Injection, KindDefaults, Measured, Params, proxy_heal
from faults.kinds.databases import fetch_value, replication_lag
from faults.link_probe import probe_link
from faults.transient import TRANSIENT_ERRORS

NAME = "failover"
# How long the fenced primary's last writes may take to reach the replica.
CATCH_UP_S_MAX = 30.0
CATCH_UP_POLL_S = 0.1
PROBE_TIMEOUT_S = 2.0
# The links that lead to "the primary" and "a replica": both go to the new primary.
REPOINTED_LINKS = ("pg_primary", "pg_replica")

SCHEMA: dict[str, Any] = {"type": "object", "additionalProperties": False, "properties": {}}


async def _caught_up(context: FaultContext, evidence: dict[str, Any]) -> bool:
    replica = context.processes.replica_dsn()
    assert replica is not None, "the scenario refuses a second failover"
    deadline = time.monotonic() + CATCH_UP_S_MAX
    while time.monotonic() < deadline:
        lag = await replication_lag(context.processes.primary_dsn(), replica)
        if lag is not None:
            evidence["lag_at_fence"] = evidence.get("lag_at_fence", lag)
            if (lag["bytes"] or 0) <= 0:
                return True
        await asyncio.sleep(CATCH_UP_POLL_S)
    return False


async def _timeline(dsn: str) -> int | None:
    try:
        hexadecimal = await fetch_value(
            dsn, "SELECT substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8)"
        )
        in_recovery = await fetch_value(dsn, "SELECT pg_is_in_recovery()")
    except TRANSIENT_ERRORS:
        return None
    return None if in_recovery else int(hexadecimal, 16)


@dataclass
class ActiveFailover:
    context: FaultContext
    evidence: dict[str, Any] = field(default_factory=dict)

    async def confirm(self) -> Measured:
        if "new_primary" not in self.evidence:
            return Measured(False, dict(self.evidence))
        timeline = await _timeline(self.context.processes.primary_dsn())
        try:
            await fetch_value(self.evidence["old_primary_dsn"], "SELECT 1")
            old_refuses = False
        except TRANSIENT_ERRORS as error:
            old_refuses = True
            self.evidence["old_primary_error"] = type(error).__name__
        self.evidence.update({"new_timeline": timeline, "old_primary_refuses": old_refuses})
        confirmed = timeline is not None and timeline > 1 and old_refuses
        return Measured(confirmed, dict(self.evidence))

    async def stop(self) -> Measured:
        healed = await proxy_heal(self.context.toxiproxy.update_proxy("pg_primary", enabled=True))
        if not healed.confirmed:
            return healed
        listen = self.context.links["pg_primary"]["listen"]
        probe = await probe_link(listen, "pg_primary", timeout_s=PROBE_TIMEOUT_S)
        return Measured(probe.answered, {"pg_primary_probe": probe.to_json()})


class FailoverKind(KindDefaults):
    name = NAME
    schema = SCHEMA
    needs_duration = False
    removes_replica = True

    def draw(self, rng: random.Random) -> dict[str, Any]:
        return {}

    def needs_replica(self, params: Params) -> bool:
        return True

    def target(self, params: Params) -> str:
        return "pg-primary"

    async def start(self, context: FaultContext, step: Injection) -> ActiveFailover:
        active = ActiveFailover(context)
        await context.toxiproxy.update_proxy("pg_primary", enabled=False)
        active.evidence["fenced_at_s"] = context.now_s()
        caught_up = await _caught_up(context, active.evidence)
        active.evidence["replica_caught_up"] = caught_up
        if not caught_up:
            # Promoting now would lose acknowledged writes: the fault stops here, unconfirmed.
            return active
        promoted = await asyncio.to_thread(context.processes.promote_replica)
        active.evidence.update(promoted)
        for link in REPOINTED_LINKS:
            await context.toxiproxy.update_proxy(link, upstream=promoted["new_primary_address"])
        await context.toxiproxy.update_proxy("pg_primary", enabled=True)
        active.evidence["switched_at_s"] = context.now_s()
        return active


KIND = FailoverKind()
