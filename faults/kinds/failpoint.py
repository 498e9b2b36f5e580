"""The `failpoint` fault kind: arm a failpoint of the API or the worker over its admin endpoint
(test mode, loopback) for the Nth hit of a point, for the step's duration.

Confirmation: the service's own count of that point's fired hits went up while the step
lasted. A crash takes the admin endpoint (and its counts) down with the process, so a crash is
confirmed by the process having exited by SIGKILL instead. The heal disarms a live service and
restarts a dead one; a heal that could do neither is not confirmed.

    faults:
      - name: crash-charge-processing
        at_s: 4
        duration_s: 3
        failpoint: {service: api, point: charge.after_processing_commit, action: crash, nth: 5}
"""

import asyncio
import json
import random
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from faults.kinds.base import FaultContext, Injection, KindDefaults, Measured, Params
from faults.kinds.services import SIGKILL_STATUS
from faults.transient import TRANSIENT_ERRORS
from system_under_test.failpoints import ACTIONS, DELAY_MS_MAX, NTH_MAX, POINTS, SERVICE_POINTS

NAME = "failpoint"
# One admin call; the endpoint answers in milliseconds on loopback, so this only catches a
# service that hangs or is gone.
ADMIN_CALL_TIMEOUT_S = 2.0
# How long a call is retried while the service's admin endpoint is not up yet (a restart
# finishing: the API answers its health check a moment before its admin listener opens).
ADMIN_READY_WAIT_S_MAX = 5.0
ADMIN_RETRY_S = 0.1
CONFIRM_POLL_S = 0.1
# The bound of confirm when start is not told the step's lifetime (the scheduler passes it):
# past any Nth hit a short scenario waits for, short enough not to stall a campaign.
CONFIRM_WAIT_S_DEFAULT = 10.0

SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["service", "point", "action"],
    "properties": {
        "service": {"enum": sorted(SERVICE_POINTS)},
        "point": {"enum": sorted(POINTS)},
        "action": {"enum": sorted(ACTIONS)},
        "nth": {"type": "integer", "minimum": 1, "maximum": NTH_MAX, "default": 1},
        # A delay of 0 injects nothing, so nothing could be confirmed.
        "delay_ms": {"type": "integer", "minimum": 1, "maximum": DELAY_MS_MAX},
    },
}


class AdminError(RuntimeError):
    """The admin endpoint refused a call; the message has its status and error."""


def _failpoints_url(context: FaultContext, service: str) -> str:
    return f"{context.admin_urls[service]}/failpoints"


async def _admin_call(
    url: str, method: str, body: dict[str, Any] | None = None, *, within_s: float = 0.0
) -> dict[str, Any]:
    """One admin call, retried on transient errors for `within_s`; the answer's JSON.

    Raises AdminError on a refusal, or the last transient error once `within_s` passed."""
    deadline = time.monotonic() + within_s
    timeout = aiohttp.ClientTimeout(total=ADMIN_CALL_TIMEOUT_S)
    while True:
        try:
            async with (
                aiohttp.ClientSession(timeout=timeout) as session,
                session.request(method, url, json=body) as answer,
            ):
                text = await answer.text()
                document = _json_object(text)
                if answer.status != 200 or document is None:
                    message = ((document or {}).get("error") or {}).get("message", text[:200])
                    raise AdminError(f"{method} {url}: {answer.status} {message}")
                return document
        except TRANSIENT_ERRORS:
            if time.monotonic() >= deadline:
                raise
        await asyncio.sleep(ADMIN_RETRY_S)


def _json_object(text: str) -> dict[str, Any] | None:
    try:
        document = json.loads(text)
    except ValueError:
        return None
    return document if isinstance(document, dict) else None


def _arming(params: Params) -> dict[str, Any]:
    body = {"name": params["point"], "action": params["action"], "nth": params.get("nth", 1)}
    if "delay_ms" in params:
        body["delay_ms"] = params["delay_ms"]
    return body


@dataclass
class ActiveFailpoint:
    """An armed failpoint: watched until it fires, then disarmed (or its service restarted)."""

    context: FaultContext
    params: Params
    # When confirm stops watching (time.monotonic()): the end of the step's lifetime.
    deadline: float
    evidence: dict[str, Any] = field(default_factory=dict)

    @property
    def _service(self) -> str:
        return self.params["service"]

    async def confirm(self) -> Measured:
        if "arm_error" in self.evidence:
            return Measured(False, dict(self.evidence))
        started = time.monotonic()
        if self.params["action"] == "crash":
            confirmed = await self._confirm_crash(self.deadline)
        else:
            confirmed = await self._confirm_fired(self.deadline)
        self.evidence["waited_s"] = round(time.monotonic() - started, 3)
        return Measured(confirmed, dict(self.evidence))

    async def _confirm_crash(self, deadline: float) -> bool:
        processes = self.context.processes
        while processes.running(self._service):
            if time.monotonic() >= deadline:
                self.evidence["process_gone"] = False
                return False
            await asyncio.sleep(CONFIRM_POLL_S)
        # Already dead: this only reaps it and reads how it ended.
        status = await asyncio.to_thread(processes.kill, self._service)
        self.evidence.update(process_gone=True, exit_status=status)
        return status == SIGKILL_STATUS

    async def _confirm_fired(self, deadline: float) -> bool:
        before = self.evidence["fired_before"]
        url = _failpoints_url(self.context, self._service)
        point = self.params["point"]
        while True:
            try:
                status = await _admin_call(url, "GET")
            except (AdminError, *TRANSIENT_ERRORS) as error:
                self.evidence["confirm_error"] = str(error) or type(error).__name__
            else:
                self.evidence["fired_after"] = status["fired"][point]
                self.evidence["hanging"] = status["hanging"][point]
                if before is not None and status["fired"][point] > before:
                    return True
            if not self.context.processes.running(self._service):
                # Its counts died with it: nothing more to see.
                self.evidence["process_gone"] = True
                return False
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(CONFIRM_POLL_S)

    async def stop(self) -> Measured:
        """Disarm a live service (which lets a hanging hit go on); restart a dead one."""
        url = _failpoints_url(self.context, self._service)
        processes = self.context.processes
        if processes.running(self._service):
            try:
                status = await _admin_call(url, "DELETE", within_s=ADMIN_READY_WAIT_S_MAX)
            except (AdminError, *TRANSIENT_ERRORS) as error:
                if processes.running(self._service):
                    return Measured(False, {"disarm_error": str(error) or type(error).__name__})
                # It died while being disarmed (the crash fired just then): restart it.
            else:
                fired = status["fired"][self.params["point"]]
                return Measured(True, {"disarmed": True, "fired_at_stop": fired})
        try:
            await asyncio.to_thread(processes.restart, self._service)
        except Exception as error:  # any failure to restart is the heal's result
            return Measured(False, {"restart_error": str(error)})
        running = processes.running(self._service)
        return Measured(running, {"restarted": running})


class FailpointKind(KindDefaults):
    """A failpoint of the API or the worker, armed for the step's duration."""

    name = NAME
    schema = SCHEMA
    needs_duration = True

    def draw(self, rng: random.Random) -> dict[str, Any]:
        service = rng.choice(sorted(SERVICE_POINTS))
        point = rng.choice(sorted(SERVICE_POINTS[service]))
        params = {"service": service, "point": point, "action": rng.choice(sorted(ACTIONS))}
        params["nth"] = rng.randint(1, NTH_MAX)
        if params["action"] == "delay":
            params["delay_ms"] = rng.randint(1, DELAY_MS_MAX)
        return params

    def check(self, params: Params, *, replication: str = "async") -> str | None:
        service, point, action = params["service"], params["point"], params["action"]
        if point not in SERVICE_POINTS[service]:
            owner = next(name for name, points in SERVICE_POINTS.items() if point in points)
            return (
                f"point: the {service} has no {point!r} (the {owner} has); "
                f"the {service}'s points: {', '.join(sorted(SERVICE_POINTS[service]))}"
            )
        if action == "delay" and "delay_ms" not in params:
            return "delay_ms: a delay needs delay_ms"
        if action != "delay" and "delay_ms" in params:
            return f"delay_ms: only a delay takes delay_ms, not a {action}"
        return None

    def target(self, params: Params) -> str:
        return params["service"]

    async def prepare(self, context: FaultContext, params: Params) -> dict[str, Any]:
        """The point's fired count before arming (None, with the error, if unreadable)."""
        evidence: dict[str, Any] = {
            "service": params["service"],
            "point": params["point"],
            "action": params["action"],
            "nth": params.get("nth", 1),
            "fired_before": None,
            "fired_after": None,
        }
        if "delay_ms" in params:
            evidence["delay_ms"] = params["delay_ms"]
        url = _failpoints_url(context, params["service"])
        try:
            status = await _admin_call(url, "GET", within_s=ADMIN_READY_WAIT_S_MAX)
        except (AdminError, *TRANSIENT_ERRORS) as error:
            evidence["prepare_error"] = str(error) or type(error).__name__
        else:
            evidence["fired_before"] = status["fired"][params["point"]]
        return evidence

    async def start(self, context: FaultContext, step: Injection) -> ActiveFailpoint:
        """Arm the point; confirm watches for its firing at most `lifetime_s` (the step's)."""
        within_s = CONFIRM_WAIT_S_DEFAULT if step.lifetime_s is None else step.lifetime_s
        active = ActiveFailpoint(
            context, step.params, time.monotonic() + within_s, dict(step.prepared)
        )
        url = _failpoints_url(context, step.params["service"])
        try:
            await _admin_call(url, "POST", _arming(step.params), within_s=ADMIN_READY_WAIT_S_MAX)
        except (AdminError, *TRANSIENT_ERRORS) as error:
            active.evidence["arm_error"] = str(error) or type(error).__name__
        return active


KIND = FailpointKind()
