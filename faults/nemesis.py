"""The nemesis: runs a scenario's fault schedule and records each fault with its confirmation.

Each step is its own task, so steps may overlap. Every fault carries its own heal (toxic
removed, killed service restarted), run also when the step is cancelled; `heal` afterwards
resets every link and restarts anything still down.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from faults.link_probe import probe_link, probe_timeout_s, toxic_took_effect
from faults.toxiproxy_api import ToxiproxyApi, ToxiproxyError

log = logging.getLogger("paychaos.nemesis")

# How long a kill waits for charges to be PROCESSING before it gives up on that condition.
PROCESSING_WAIT_S_MAX = 15.0
PROCESSING_POLL_S = 0.05
BASELINE_PROBE_TIMEOUT_S = 2.0

Record = Callable[[dict[str, Any]], dict[str, Any]]


class ProcessControl(Protocol):
    """What the nemesis needs of a topology (system_under_test.deploy.Topology has it)."""

    def kill(self, service: str) -> int | None: ...
    def restart(self, service: str) -> None: ...
    def running(self, service: str) -> bool: ...


class Nemesis:
    """Injects link faults over the Toxiproxy API and process faults through the topology."""

    def __init__(
        self,
        *,
        toxiproxy: ToxiproxyApi,
        links: dict[str, dict[str, str]],
        processes: ProcessControl,
        processing_count: Callable[[], Awaitable[int]],
        record: Record,
        now_s: Callable[[], float],
    ) -> None:
        self._toxiproxy = toxiproxy
        self._links = links
        self._processes = processes
        self._processing_count = processing_count
        self._record = record
        self._now_s = now_s
        self._killed: set[str] = set()

    async def run(self, steps: list[Any], started_at_s: float) -> None:
        """Run every step at its time (seconds after `started_at_s`); returns when all ended."""
        async with asyncio.TaskGroup() as group:
            for step in steps:
                group.create_task(self._step(step, started_at_s))

    async def _step(self, step: Any, started_at_s: float) -> None:
        delay_s = started_at_s + step.at_s - self._now_s()
        if delay_s > 0:
            await asyncio.sleep(delay_s)
        action = step.action
        if hasattr(action, "link"):
            await self._toxic(step.name, action, step.duration_s)
        else:
            await self._kill(step.name, action)

    def _start(self, name: str, fault: str, target: str, params: dict[str, Any]) -> None:
        self._record(
            {
                "type": "start",
                "name": name,
                "fault": fault,
                "target": target,
                "params": params,
                "confirmed": None,
                "evidence": None,
            }
        )

    def _stop(
        self,
        name: str,
        fault: str,
        target: str,
        params: dict[str, Any],
        confirmed: bool,
        evidence: dict[str, Any],
    ) -> None:
        self._record(
            {
                "type": "stop",
                "name": name,
                "fault": fault,
                "target": target,
                "params": params,
                "confirmed": confirmed,
                "evidence": evidence,
            }
        )
        log.info("fault %s stopped, confirmed=%s %s", name, confirmed, evidence)

    async def _toxic(self, name: str, toxic: Any, duration_s: float) -> None:
        listen = self._links[toxic.link]["listen"]
        params = {
            "type": toxic.type,
            "stream": toxic.stream,
            "toxicity": toxic.toxicity,
            "attributes": toxic.attributes,
        }
        evidence: dict[str, Any] = {}
        baseline = await probe_link(listen, toxic.link, timeout_s=BASELINE_PROBE_TIMEOUT_S)
        evidence["baseline_probe"] = baseline.to_json()
        self._start(name, "toxic", toxic.link, params)
        confirmed = False
        try:
            await self._toxiproxy.add_toxic(
                toxic.link,
                name=name,
                type=toxic.type,
                stream=toxic.stream,
                toxicity=toxic.toxicity,
                attributes=toxic.attributes,
            )
            during = await probe_link(
                listen, toxic.link, timeout_s=probe_timeout_s(toxic.type, toxic.attributes)
            )
            evidence["probe"] = during.to_json()
            confirmed = toxic_took_effect(toxic.type, toxic.attributes, baseline, during)
            remaining_s = duration_s - during.elapsed_ms / 1000
            if remaining_s > 0:
                await asyncio.sleep(remaining_s)
        except ToxiproxyError as error:
            evidence["error"] = str(error)
        finally:
            try:
                await self._toxiproxy.remove_toxic(toxic.link, name)
            except ToxiproxyError as error:
                evidence["heal_error"] = str(error)
                confirmed = False
            self._stop(name, "toxic", toxic.link, params, confirmed, evidence)

    async def _wait_for_processing(self) -> int:
        deadline_s = self._now_s() + PROCESSING_WAIT_S_MAX
        count = 0
        while self._now_s() < deadline_s:
            try:
                count = await self._processing_count()
            except OSError as error:
                log.warning("processing count failed: %s", error)
            if count > 0:
                break
            await asyncio.sleep(PROCESSING_POLL_S)
        return count

    async def _kill(self, name: str, kill: Any) -> None:
        params = {
            "while_processing": kill.while_processing,
            "restart_after_s": kill.restart_after_s,
        }
        evidence: dict[str, Any] = {}
        if kill.while_processing:
            evidence["processing_before_kill"] = await self._wait_for_processing()
        self._start(name, "kill", kill.service, params)
        self._killed.add(kill.service)
        status = await asyncio.to_thread(self._processes.kill, kill.service)
        evidence["exit_status"] = status
        restarted = False
        try:
            await asyncio.sleep(kill.restart_after_s)
        finally:
            try:
                await asyncio.to_thread(self._processes.restart, kill.service)
                restarted = True
                self._killed.discard(kill.service)
            except Exception as error:  # any failure to restart is recorded
                evidence["restart_error"] = str(error)
            evidence["restarted"] = restarted
            confirmed = status == -9 and restarted
            if kill.while_processing:
                confirmed = confirmed and evidence["processing_before_kill"] > 0
            self._stop(name, "kill", kill.service, params, confirmed, evidence)

    async def heal(self) -> list[str]:
        """Reset every link and restart every killed service; returns what could not heal."""
        problems = []
        try:
            await self._toxiproxy.reset()
        except ToxiproxyError as error:
            problems.append(f"proxy reset: {error}")
        for service in sorted(self._killed):
            try:
                if not self._processes.running(service):
                    await asyncio.to_thread(self._processes.restart, service)
                self._killed.discard(service)
            except Exception as error:  # reported as a heal problem
                problems.append(f"restart {service}: {error}")
        return problems
