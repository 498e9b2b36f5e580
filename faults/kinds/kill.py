"""The `kill` fault kind: SIGKILL a service (optionally once movements are mid-PROCESSING),
then restart it.

Confirmation: the process ended by SIGKILL and is gone; with `while_processing`, movements
were PENDING or PROCESSING when it died. The heal is the restart, which must succeed.
"""

import asyncio
import random
import time
from dataclasses import dataclass, field
from typing import Any

from faults.kinds.base import ON_CLOCK, FaultContext, Injection, Measured, Params
from faults.kinds.services import SIGKILL_STATUS, ServiceKind, restart_service, service_schema

NAME = "kill"
# How long a kill waits for movements to be PROCESSING before it kills anyway (unconfirmed).
PROCESSING_WAIT_S_MAX = 15.0
PROCESSING_POLL_S = 0.05
RESTART_AFTER_S_MAX = 600
RESTART_AFTER_S_DEFAULT = 1.0
# What the random nemesis draws: a restart soon enough to leave the run time to recover.
DRAWN_RESTART_AFTER_S = (0.5, 2.0)

SCHEMA = service_schema(
    while_processing={"type": "boolean", "default": False},
    restart_after_s={
        "type": "number",
        "minimum": 0,
        "maximum": RESTART_AFTER_S_MAX,
        "default": RESTART_AFTER_S_DEFAULT,
        **ON_CLOCK,
    },
)


async def wait_for_unresolved(context: FaultContext) -> int:
    """Poll until movements are PENDING or PROCESSING, at most PROCESSING_WAIT_S_MAX; a read
    that fails (None) is retried within that bound."""
    deadline = time.monotonic() + PROCESSING_WAIT_S_MAX
    count = 0
    while time.monotonic() < deadline:
        count = await context.unresolved_count() or 0
        if count > 0:
            break
        await asyncio.sleep(PROCESSING_POLL_S)
    return count


@dataclass
class ActiveKill:
    context: FaultContext
    params: Params
    evidence: dict[str, Any] = field(default_factory=dict)

    async def confirm(self) -> Measured:
        service = self.params["service"]
        gone = not self.context.processes.running(service)
        self.evidence["process_gone"] = gone
        confirmed = self.evidence["exit_status"] == SIGKILL_STATUS and gone
        if self.params.get("while_processing", False):
            confirmed = confirmed and self.evidence["unresolved_before_kill"] > 0
        return Measured(confirmed, dict(self.evidence))

    async def stop(self) -> Measured:
        return await restart_service(self.context.processes, self.params["service"])


class KillKind(ServiceKind):
    """SIGKILL of a service, restarted after `restart_after_s`."""

    name = NAME
    schema = SCHEMA
    needs_duration = False

    def draw(self, rng: random.Random) -> dict[str, Any]:
        low, high = DRAWN_RESTART_AFTER_S
        return {**super().draw(rng), "restart_after_s": round(rng.uniform(low, high), 2)}

    def lifetime_s(self, params: Params, duration_s: float | None) -> float:
        return float(params.get("restart_after_s", RESTART_AFTER_S_DEFAULT))

    async def prepare(self, context: FaultContext, params: Params) -> dict[str, Any]:
        if not params.get("while_processing", False):
            return {}
        return {"unresolved_before_kill": await wait_for_unresolved(context)}

    async def start(self, context: FaultContext, step: Injection) -> ActiveKill:
        active = ActiveKill(context, step.params, dict(step.prepared))
        status = await asyncio.to_thread(context.processes.kill, step.params["service"])
        active.evidence["exit_status"] = status
        return active


KIND = KillKind()
