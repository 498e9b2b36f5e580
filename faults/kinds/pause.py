"""The `pause` fault kind: SIGSTOP a service (its whole process group) for a while, then
SIGCONT it. A paused service holds its connections and locks but answers nothing: the grey
failure that timeouts, not errors, reveal.

Confirmation: the process is observed stopped (state T). The heal: it runs again.
"""

import asyncio
import time
from dataclasses import dataclass

from faults.kinds.base import FaultContext, Injection, Measured
from faults.kinds.services import ServiceKind

NAME = "pause"
# A signal is delivered asynchronously: the process state shows it within milliseconds.
STATE_WAIT_S_MAX = 2.0
STATE_POLL_S = 0.02


@dataclass
class ActivePause:
    context: FaultContext
    service: str

    async def _stopped_becomes(self, wanted: bool) -> bool:
        deadline = time.monotonic() + STATE_WAIT_S_MAX
        while True:
            stopped = self.context.processes.stopped(self.service)
            if stopped == wanted or time.monotonic() >= deadline:
                return stopped
            await asyncio.sleep(STATE_POLL_S)

    async def confirm(self) -> Measured:
        stopped = await self._stopped_becomes(True)
        pid = self.context.processes.pid(self.service)
        return Measured(stopped, {"stopped": stopped, "pid": pid})

    async def stop(self) -> Measured:
        await asyncio.to_thread(self.context.processes.resume, self.service)
        stopped = await self._stopped_becomes(False)
        return Measured(not stopped, {"resumed": not stopped})


class PauseKind(ServiceKind):
    name = NAME
    needs_duration = True

    async def start(self, context: FaultContext, step: Injection) -> ActivePause:
        await asyncio.to_thread(context.processes.pause, step.params["service"])
        return ActivePause(context, step.params["service"])


KIND = PauseKind()
