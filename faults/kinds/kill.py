"""The `kill` fault kind: SIGKILL a service (optionally once movements are mid-PROCESSING),
then restart it.

Confirmation: the process ended by SIGKILL and is gone; with `while_processing`, movements
were PENDING or PROCESSING when it died. The heal is the restart, which must succeed.
"""

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from faults.kinds.base import FaultContext, KindDefaults, Measured, Params
from system_under_test.deploy.spec import SERVICES

NAME = "kill"
# Every service but the proxy: it carries every link and the harness's own control of faults,
# so its death would be a partition of everything at once (the partition kind does that, with
# a heal the harness keeps).
KILLABLE_SERVICES = [service for service in SERVICES if service != "proxy"]
SIGKILL_STATUS = -9
# How long a kill waits for movements to be PROCESSING before it kills anyway (unconfirmed).
PROCESSING_WAIT_S_MAX = 15.0
PROCESSING_POLL_S = 0.05
RESTART_AFTER_S_MAX = 600

SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["service"],
    "properties": {
        "service": {"enum": KILLABLE_SERVICES},
        "while_processing": {"type": "boolean"},
        "restart_after_s": {"type": "number", "minimum": 0, "maximum": RESTART_AFTER_S_MAX},
    },
}


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
        service = self.params["service"]
        try:
            await asyncio.to_thread(self.context.processes.restart, service)
        except Exception as error:  # any failure to restart is the heal's result
            return Measured(False, {"restart_error": str(error)})
        return Measured(self.context.processes.running(service), {"restarted": True})


class KillKind(KindDefaults):
    """SIGKILL of a service, restarted after `restart_after_s`."""

    name = NAME
    schema = SCHEMA
    needs_duration = False

    def target(self, params: Params) -> str:
        return params["service"]

    def lifetime_s(self, params: Params, duration_s: float | None) -> float:
        return float(params.get("restart_after_s", 1.0))

    async def prepare(self, context: FaultContext, params: Params) -> dict[str, Any]:
        if not params.get("while_processing", False):
            return {}
        return {"unresolved_before_kill": await wait_for_unresolved(context)}

    async def start(
        self,
        context: FaultContext,
        name: str,
        params: Params,
        prepared: dict[str, Any],
        *,
        lifetime_s: float | None = None,
    ) -> ActiveKill:
        active = ActiveKill(context, params, dict(prepared))
        status = await asyncio.to_thread(context.processes.kill, params["service"])
        active.evidence["exit_status"] = status
        return active
