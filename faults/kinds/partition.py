"""The `partition` fault kind: a link cut both ways (the proxy disabled: connections closed,
new ones refused), one way (every byte of one direction dropped: a `timeout` toxic on that
stream), or flapping (cut and restored in seeded random periods while the fault lasts).

Confirmation: probes through the link: refused when cut both ways; no answer when cut one
way, with the proxy's own count showing bytes dropped on the cut direction only (so the
request did or did not get through, as configured); for flapping, a refused probe while down
and an answered one while up. The heal: the link enabled and free of the fault's toxic.
"""

import asyncio
import contextlib
import random
import time
from dataclasses import dataclass, field
from typing import Any

from faults.kinds.base import (
    ON_CLOCK,
    FaultContext,
    Injection,
    KindDefaults,
    Measured,
    Params,
    proxy_heal,
)
from faults.link_probe import probe_link
from faults.toxiproxy_api import ToxiproxyError
from system_under_test.deploy.spec import LINKS

NAME = "partition"
DIRECTIONS = ("both", "upstream", "downstream")
DIRECTION_DEFAULT = "both"
PROBE_TIMEOUT_S = 1.0
# Flapping is confirmed once a probe saw the link down and another saw it up.
CONFIRM_WAIT_S_MAX = 15.0
CONFIRM_POLL_S = 0.1
PERIOD_MS_MAX = 60_000

_PERIOD = {
    "type": "object",
    "additionalProperties": False,
    "required": ["min_ms", "max_ms"],
    "properties": {
        "min_ms": {"type": "integer", "minimum": 10, "maximum": PERIOD_MS_MAX, **ON_CLOCK},
        "max_ms": {"type": "integer", "minimum": 10, "maximum": PERIOD_MS_MAX, **ON_CLOCK},
    },
}
SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["link"],
    "properties": {
        "link": {"enum": sorted(LINKS)},
        "direction": {"enum": list(DIRECTIONS), "default": DIRECTION_DEFAULT},
        "flapping": {
            "type": "object",
            "additionalProperties": False,
            "required": ["down", "up"],
            "properties": {"down": _PERIOD, "up": _PERIOD},
        },
    },
}


@dataclass
class ActivePartition:
    context: FaultContext
    name: str
    params: Params
    flapper: asyncio.Task | None = None
    transitions: list[dict[str, Any]] = field(default_factory=list)

    @property
    def link(self) -> str:
        return self.params["link"]

    @property
    def direction(self) -> str:
        return self.params.get("direction", DIRECTION_DEFAULT)

    async def cut(self) -> None:
        if self.direction == "both":
            await self.context.toxiproxy.update_proxy(self.link, enabled=False)
            return
        await self.context.toxiproxy.add_toxic(
            self.link,
            name=self.name,
            type="timeout",
            stream=self.direction,
            attributes={"timeout": 0},
        )

    async def restore(self) -> None:
        if self.direction == "both":
            await self.context.toxiproxy.update_proxy(self.link, enabled=True)
            return
        with contextlib.suppress(ToxiproxyError):
            await self.context.toxiproxy.remove_toxic(self.link, self.name)

    async def _probe(self):
        listen = self.context.links[self.link]["listen"]
        return await probe_link(listen, self.link, timeout_s=PROBE_TIMEOUT_S)

    async def confirm(self) -> Measured:
        if self.flapper is not None:
            return await self._confirm_flapping()
        probe = await self._probe()
        evidence: dict[str, Any] = {"probe": probe.to_json(), "direction": self.direction}
        if self.direction == "both":
            return Measured(not probe.answered and probe.error is not None, evidence)
        stats = await self._stats()
        evidence["proxy_stats"] = stats
        dropped = stats is not None and stats.get("bytes_affected", 0) > 0
        return Measured(not probe.answered and dropped, evidence)

    async def _stats(self) -> dict | None:
        try:
            return await self.context.toxiproxy.toxic_stats(self.link, self.name)
        except ToxiproxyError:
            return None

    async def _confirm_flapping(self) -> Measured:
        seen = {"down": 0, "up": 0}
        deadline = time.monotonic() + CONFIRM_WAIT_S_MAX
        while time.monotonic() < deadline and not all(seen.values()):
            probe = await self._probe()
            seen["up" if probe.answered else "down"] += 1
            await asyncio.sleep(CONFIRM_POLL_S)
        evidence = {"probes": seen, "transitions": list(self.transitions)}
        return Measured(all(seen.values()), evidence)

    async def flap(self, rng: random.Random) -> None:
        """Cut and restore in turn, for seeded random periods, until cancelled."""
        periods = self.params["flapping"]
        down = True
        while True:
            span = periods["down" if down else "up"]
            period_ms = rng.randint(span["min_ms"], span["max_ms"])
            await (self.cut() if down else self.restore())
            self.transitions.append({"at_s": self.context.now_s(), "down": down, "ms": period_ms})
            await asyncio.sleep(period_ms / 1000)
            down = not down

    async def stop(self) -> Measured:
        if self.flapper is not None:
            self.flapper.cancel()
            with contextlib.suppress(asyncio.CancelledError, ToxiproxyError):
                await self.flapper
        healed = await proxy_heal(self.restore())
        if not healed.confirmed:
            return healed
        probe = await self._probe()
        return Measured(probe.answered, {"probe_after_heal": probe.to_json()})


class PartitionKind(KindDefaults):
    name = NAME
    schema = SCHEMA
    needs_duration = True
    random_nemesis = True

    def draw(self, rng: random.Random) -> dict[str, Any]:
        return {"link": rng.choice(sorted(LINKS)), "direction": rng.choice(list(DIRECTIONS))}

    def check(self, params: Params, *, replication: str = "async") -> str | None:
        for side, span in params.get("flapping", {}).items():
            if span["min_ms"] > span["max_ms"]:
                return f"flapping.{side}: min_ms {span['min_ms']} > max_ms {span['max_ms']}"
        return None

    def target(self, params: Params) -> str:
        return params["link"]

    async def start(self, context: FaultContext, step: Injection) -> ActivePartition:
        active = ActivePartition(context, step.name, step.params)
        if "flapping" in step.params:
            # The scenario's seed and the fault's name: one seed, one sequence of periods.
            rng = random.Random(f"{context.seed}:{step.name}")
            active.flapper = asyncio.create_task(active.flap(rng))
        else:
            await active.cut()
        return active


KIND = PartitionKind()
