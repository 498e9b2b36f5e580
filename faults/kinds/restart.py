"""The `restart` fault kind: stop a service gracefully and start it again (a deploy, a
configuration reload gone wrong): its connections drop, its in-flight requests end.

Confirmation: a new process runs (its pid changed). The heal is part of the fault: nothing to
undo, so stop only checks that it runs.
"""

import asyncio
from dataclasses import dataclass
from typing import Any

from faults.kinds.base import FaultContext, Injection, Measured, Params
from faults.kinds.services import ServiceKind

NAME = "restart"


@dataclass
class ActiveRestart:
    context: FaultContext
    service: str
    evidence: dict[str, Any]

    async def confirm(self) -> Measured:
        before, after = self.evidence["pid_before"], self.evidence["pid_after"]
        return Measured(after is not None and after != before, dict(self.evidence))

    async def stop(self) -> Measured:
        running = self.context.processes.running(self.service)
        return Measured(running, {"running": running})


class RestartKind(ServiceKind):
    name = NAME
    needs_duration = False

    async def prepare(self, context: FaultContext, params: Params) -> dict[str, Any]:
        return {"pid_before": context.processes.pid(params["service"])}

    async def start(self, context: FaultContext, step: Injection) -> ActiveRestart:
        service = step.params["service"]
        await asyncio.to_thread(context.processes.restart, service)
        evidence = {**step.prepared, "pid_after": context.processes.pid(service)}
        return ActiveRestart(context, service, evidence)


KIND = RestartKind()
