"""The nemesis: a scheduler only. It runs a scenario's fault steps at their times through the
fault kinds' one interface (faults/kinds), and records each start and stop with what the kind
measured.

Each step is its own task, so steps may overlap. A step's fault is healed by its kind when the
step ends, also when the step is cancelled; `heal` afterwards heals whatever is still active
and resets every link.
"""

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from faults.kinds import KINDS, ActiveFault, FaultContext, Injection, Measured
from faults.toxiproxy_api import ToxiproxyError

log = logging.getLogger("paychaos.nemesis")

Record = Callable[[dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class FaultStep:
    """One scheduled fault: `kind`'s `params`, from `at_s` (after the workload starts) for
    `duration_s` (or as long as the kind says)."""

    name: str
    at_s: float
    duration_s: float | None
    kind: str
    params: dict[str, Any]


class Nemesis:
    """Runs fault steps and records them; every fault it starts, it heals."""

    def __init__(self, context: FaultContext, record: Record) -> None:
        self._context = context
        self._record = record
        self._active: dict[str, tuple[FaultStep, ActiveFault]] = {}

    async def run(self, steps: Sequence[FaultStep], started_at_s: float) -> None:
        """Run every step at its time (seconds after `started_at_s`); returns when all ended."""
        async with asyncio.TaskGroup() as group:
            for step in steps:
                group.create_task(self._step(step, started_at_s))

    def _line(self, kind: str, step: FaultStep, target: str, **fields: Any) -> None:
        self._record(
            {
                "type": kind,
                "name": step.name,
                "fault": step.kind,
                "target": target,
                "params": step.params,
                **fields,
            }
        )

    async def _step(self, step: FaultStep, started_at_s: float) -> None:
        delay_s = started_at_s + step.at_s - self._context.now_s()
        if delay_s > 0:
            await asyncio.sleep(delay_s)
        kind = KINDS[step.kind]
        target = kind.target(step.params)
        prepared = await kind.prepare(self._context, step.params)
        begun_s = self._context.now_s()
        self._line("start", step, target, confirmed=None, evidence=None)
        measured = Measured(False, {})
        try:
            lifetime_s = kind.lifetime_s(step.params, step.duration_s)
            injection = Injection(step.name, step.params, prepared, lifetime_s)
            active = await kind.start(self._context, injection)
            self._active[step.name] = (step, active)
            measured = await active.confirm()
            remaining_s = begun_s + lifetime_s - self._context.now_s()
            if remaining_s > 0:
                await asyncio.sleep(remaining_s)
        except ToxiproxyError as error:
            measured = Measured(False, {**measured.evidence, "error": str(error)})
        finally:
            healed = await self._stop(step.name)
            confirmed = measured.confirmed and healed.confirmed
            evidence = {**measured.evidence, "heal": healed.evidence}
            self._line("stop", step, target, confirmed=confirmed, evidence=evidence)
            log.info("fault %s stopped, confirmed=%s %s", step.name, confirmed, evidence)

    async def _stop(self, name: str) -> Measured:
        entry = self._active.get(name)
        if entry is None:
            return Measured(True, {"started": False})
        healed = await entry[1].stop()
        if healed.confirmed:
            del self._active[name]
        return healed

    async def heal(self) -> list[str]:
        """Heal every fault still active and reset every link; returns what could not heal."""
        problems = []
        for name in list(self._active):
            healed = await self._stop(name)
            if not healed.confirmed:
                problems.append(f"heal of {name}: {healed.evidence}")
        try:
            await self._context.toxiproxy.reset()
        except ToxiproxyError as error:
            problems.append(f"proxy reset: {error}")
        return problems
