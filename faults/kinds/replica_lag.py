"""The `replica_lag` fault kind: the replica falls behind the primary, by pausing its WAL
replay (`pause_replay`) or by slowing the `replication` link (`slow_link`, a latency toxic on
the WAL stream). Display reads then show an old balance; decisions must not.

Confirmation: the lag reached, measured as WAL bytes and seconds behind the primary while
the fault lasts (polled until it is above zero, at most CONFIRM_WAIT_S_MAX). The heal:
replay resumes or the toxic goes.
"""

import asyncio
import random
import time
from dataclasses import dataclass, field
from typing import Any

from faults.kinds.base import FaultContext, Injection, KindDefaults, Measured, Params, proxy_heal
from faults.kinds.databases import fetch_value, replication_lag
from faults.transient import TRANSIENT_ERRORS

NAME = "replica_lag"
MODES = ("pause_replay", "slow_link")
LAG_POLL_S = 0.2
# How long confirmation waits for a lag to show: a workload writes many times a second, so a
# paused replay or a slow link shows within a second or two; a scenario's duration should be
# longer than this.
CONFIRM_WAIT_S_MAX = 10.0
# The toxic this kind puts on the replication link, named after the fault.
LINK = "replication"

SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["mode"],
    "properties": {
        "mode": {"enum": list(MODES)},
        "latency_ms": {"type": "integer", "minimum": 1, "maximum": 60_000},
    },
}


@dataclass
class ActiveLag:
    context: FaultContext
    name: str
    params: Params
    wait_s: float
    started_s: float = field(default_factory=time.monotonic)

    async def confirm(self) -> Measured:
        replica = self.context.processes.replica_dsn()
        primary = self.context.processes.primary_dsn()
        deadline = self.started_s + self.wait_s
        peak: dict[str, Any] | None = None
        while replica is not None and time.monotonic() < deadline:
            lag = await replication_lag(primary, replica)
            if lag is not None and (peak is None or (lag["bytes"] or 0) > (peak["bytes"] or 0)):
                peak = lag
            if peak is not None and (peak["bytes"] or 0) > 0:
                break
            await asyncio.sleep(LAG_POLL_S)
        confirmed = peak is not None and (peak["bytes"] or 0) > 0
        return Measured(confirmed, {"lag": peak, "mode": self.params["mode"]})

    async def stop(self) -> Measured:
        if self.params["mode"] == "slow_link":
            return await proxy_heal(self.context.toxiproxy.remove_toxic(LINK, self.name))
        replica = self.context.processes.replica_dsn()
        if replica is None:
            return Measured(False, {"heal_error": "no replica to resume"})
        try:
            await fetch_value(replica, "SELECT pg_wal_replay_resume()::text")
        except TRANSIENT_ERRORS as error:
            return Measured(False, {"heal_error": f"{type(error).__name__}: {error}"})
        return Measured(True, {"replay_resumed": True})


class ReplicaLagKind(KindDefaults):
    name = NAME
    schema = SCHEMA
    needs_duration = True
    random_nemesis = True

    def draw(self, rng: random.Random) -> dict[str, Any]:
        return {"mode": "pause_replay"}

    def check(self, params: Params, *, replication: str = "async") -> str | None:
        if params["mode"] == "slow_link" and "latency_ms" not in params:
            return "latency_ms: a slow link needs its latency"
        if params["mode"] == "pause_replay" and "latency_ms" in params:
            return "latency_ms: pausing replay takes no latency"
        if params["mode"] == "pause_replay" and replication == "sync":
            return "mode: a paused replay under sync replication would hold every commit"
        return None

    def needs_replica(self, params: Params) -> bool:
        return True

    def target(self, params: Params) -> str:
        return "pg-replica"

    async def start(self, context: FaultContext, step: Injection) -> ActiveLag:
        if step.params["mode"] == "slow_link":
            await context.toxiproxy.add_toxic(
                LINK,
                name=step.name,
                type="latency",
                stream="downstream",
                attributes={"latency": step.params["latency_ms"]},
            )
        else:
            replica = context.processes.replica_dsn()
            assert replica is not None, "the scenario refuses a lag after a failover"
            await fetch_value(replica, "SELECT pg_wal_replay_pause()::text")
        wait_s = (
            CONFIRM_WAIT_S_MAX
            if step.lifetime_s is None
            else min(CONFIRM_WAIT_S_MAX, step.lifetime_s)
        )
        return ActiveLag(context, step.name, step.params, wait_s)


KIND = ReplicaLagKind()
