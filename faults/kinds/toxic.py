"""The `toxic` fault kind: a Toxiproxy toxic on one link, for a while.

Confirmation: a probe through the link just before (the baseline) and probes while it lasts.
Each toxic type judges a probe against the baseline by its own effect (the table `JUDGES`):
the delay observed under `latency`, silence under `timeout`, ECONNRESET under `reset_peer`, the
answer cut at `bytes` under `limit_data`, more reads under `slicer`, a later close under
`slow_close`. Where a probe cannot show the effect (a one-byte PostgreSQL answer cannot be
sliced), the proxy's own count of the connections the toxic affected decides, if the proxy
keeps one; a real Toxiproxy does not, and the fault stays unconfirmed.
"""

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from faults.kinds.base import FaultContext, Injection, KindDefaults, Measured, Params, proxy_heal
from faults.link_probe import CLOSED_EARLY, NO_ANSWER, RESET, ProbeResult, probe_link
from faults.proxy.toxics import ATTRIBUTE_MINIMUM, DOWNSTREAM, STREAMS, TOXIC_ATTRIBUTES
from faults.toxiproxy_api import ToxiproxyError
from system_under_test.deploy.spec import LINKS

NAME = "toxic"
# `noop` injects nothing, so nothing could be confirmed: a scenario may not ask for it.
TOXIC_TYPES = sorted(set(TOXIC_ATTRIBUTES) - {"noop"})
# Attributes a scenario must give: the ones that make the toxic do anything.
REQUIRED_ATTRIBUTES = {
    "latency": ["latency"],
    "bandwidth": ["rate"],
    "slow_close": ["delay"],
    "timeout": ["timeout"],
    "reset_peer": ["timeout"],
    "slicer": ["average_size"],
    "limit_data": ["bytes"],
}
# Upper bounds: a minute of delay or a gigabyte is far past any fault worth a campaign.
ATTRIBUTE_MAXIMUM = {
    "latency": 60_000,
    "jitter": 60_000,
    "rate": 10_000_000,
    "delay": 60_000_000,
    "timeout": 600_000,
    "average_size": 1_000_000,
    "size_variation": 1_000_000,
    "bytes": 1_000_000_000,
}
TOXICITY_DEFAULT = 1.0
# A link under load (a backlog released by the previous fault) may answer slowly.
BASELINE_PROBE_TIMEOUT_S = 5.0
# Probes while the toxic lasts; with toxicity below 1 a probe's connection may be spared.
PROBES_MAX = 10
# Latency shows at least this share of the configured delay (scheduling noise aside), and at
# most twice it plus a second (a loaded 2-core machine).
LATENCY_SHARE_MIN = 0.8
LATENCY_SLACK_MS = 1000.0
# A delayed close shows at least this share of its delay.
CLOSE_DELAY_SHARE_MIN = 0.8

Judge = Callable[[ProbeResult, ProbeResult, Mapping[str, int], str], bool | None]


def _attributes_schema(toxic_type: str) -> dict[str, Any]:
    return {
        "type": "object",
        "additionalProperties": False,
        "required": REQUIRED_ATTRIBUTES[toxic_type],
        "properties": {
            name: {
                "type": "integer",
                "minimum": ATTRIBUTE_MINIMUM.get((toxic_type, name), 0),
                "maximum": ATTRIBUTE_MAXIMUM[name],
            }
            for name in TOXIC_ATTRIBUTES[toxic_type]
        },
    }


SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["link", "type", "attributes"],
    "properties": {
        "link": {"enum": sorted(LINKS)},
        "type": {"enum": TOXIC_TYPES},
        "stream": {"enum": list(STREAMS), "default": DOWNSTREAM},
        "toxicity": {
            "type": "number",
            "exclusiveMinimum": 0,
            "maximum": 1,
            "default": TOXICITY_DEFAULT,
        },
        "attributes": {"type": "object"},
    },
    "allOf": [
        {
            "if": {"properties": {"type": {"const": toxic_type}}},
            "then": {"properties": {"attributes": _attributes_schema(toxic_type)}},
        }
        for toxic_type in TOXIC_TYPES
    ],
}


def _latency(baseline, during, attributes, stream) -> bool | None:
    latency, jitter = attributes["latency"], attributes.get("jitter", 0)
    added = during.elapsed_ms - baseline.elapsed_ms
    low = LATENCY_SHARE_MIN * (latency - jitter)
    high = 2 * (latency + jitter) + LATENCY_SLACK_MS
    return during.answered and low <= added <= high


def _timeout(baseline, during, attributes, stream) -> bool | None:
    # Every byte dropped where an answer came just before. The connection then stays open
    # (timeout 0), closes after `timeout` ms, or closes when the far end does: Toxiproxy
    # passes a close through its timeout toxic.
    return not during.answered and during.error in (NO_ANSWER, CLOSED_EARLY)


def _reset_peer(baseline, during, attributes, stream) -> bool | None:
    return during.error == RESET


def _limit_data(baseline, during, attributes, stream) -> bool | None:
    limit = attributes["bytes"]
    if stream == "downstream":
        if baseline.received_bytes <= limit:
            return None
        return during.received_bytes <= limit and during.closed_ms is not None
    # Upstream: the request itself is cut, so no answer can come.
    return not during.answered


def _slicer(baseline, during, attributes, stream) -> bool | None:
    piece = attributes["average_size"] + attributes.get("size_variation", 0)
    if stream == "upstream" or baseline.received_bytes <= piece:
        return None
    return during.answered and during.reads > baseline.reads


def _slow_close(baseline, during, attributes, stream) -> bool | None:
    if stream == "upstream" or baseline.closed_ms is None or during.closed_ms is None:
        return None
    delay_ms = attributes["delay"]
    held = (during.closed_ms - during.elapsed_ms) - (baseline.closed_ms - baseline.elapsed_ms)
    return held >= CLOSE_DELAY_SHARE_MIN * delay_ms


def _bandwidth(baseline, during, attributes, stream) -> bool | None:
    if attributes["rate"] == 0:
        # Rate 0 holds every byte: no answer can come.
        return not during.answered
    return None


JUDGES: dict[str, Judge] = {
    "latency": _latency,
    "timeout": _timeout,
    "reset_peer": _reset_peer,
    "limit_data": _limit_data,
    "slicer": _slicer,
    "slow_close": _slow_close,
    "bandwidth": _bandwidth,
}
assert set(JUDGES) == set(TOXIC_TYPES), "every toxic type a scenario may use has a judge"


def probe_timeout_s(toxic_type: str, attributes: Mapping[str, int]) -> float:
    """How long a probe under a toxic waits: past the latency, or long enough to see silence."""
    if toxic_type == "latency":
        return (attributes["latency"] + attributes.get("jitter", 0)) / 1000 * 2 + 1.0
    if toxic_type in ("timeout", "reset_peer"):
        return attributes["timeout"] / 1000 + 1.0
    if toxic_type == "slow_close":
        return attributes["delay"] / 1000 * 2 + 1.0
    return 2.0


@dataclass
class ActiveToxic:
    """A toxic on a link: probed while it lasts, removed to heal."""

    context: FaultContext
    name: str
    params: Params
    baseline: ProbeResult

    async def confirm(self) -> Measured:
        link, toxic_type = self.params["link"], self.params["type"]
        attributes = self.params["attributes"]
        stream = self.params.get("stream", DOWNSTREAM)
        evidence: dict[str, Any] = {"baseline_probe": self.baseline.to_json(), "probes": []}
        if not self.baseline.answered:
            evidence["problem"] = "the link did not answer before the fault"
            return Measured(False, evidence)
        judged: list[bool | None] = []
        listen = self.context.links[link]["listen"]
        for _ in range(PROBES_MAX):
            during = await probe_link(
                listen, link, timeout_s=probe_timeout_s(toxic_type, attributes)
            )
            verdict = JUDGES[toxic_type](self.baseline, during, attributes, stream)
            evidence["probes"].append({**during.to_json(), "showed_effect": verdict})
            judged.append(verdict)
            if verdict is not False:
                break
        if True in judged:
            return Measured(True, evidence)
        stats = await self._stats()
        evidence["proxy_stats"] = stats
        # Active on connections that carried bytes: the effect a probe could not show.
        affected = (
            stats is not None
            and min(stats.get("connections_affected", 0), stats.get("bytes_affected", 0)) > 0
        )
        # A probe that could not tell defers to the proxy's own count.
        return Measured(all(verdict is None for verdict in judged) and affected, evidence)

    async def _stats(self) -> dict | None:
        try:
            return await self.context.toxiproxy.toxic_stats(self.params["link"], self.name)
        except ToxiproxyError:
            return None

    async def stop(self) -> Measured:
        return await proxy_heal(self.context.toxiproxy.remove_toxic(self.params["link"], self.name))


class ToxicKind(KindDefaults):
    """Toxics on links, through the Toxiproxy API."""

    name = NAME
    schema = SCHEMA
    needs_duration = True
    random_nemesis = True
    overlaps = True

    def draw(self, rng: random.Random) -> dict[str, Any]:
        # The draws run in this order whichever type is chosen, so that a seed's schedule stays.
        link = rng.choice(sorted(LINKS))
        toxic_type, attributes = rng.choice(
            [
                ("latency", {"latency": rng.randint(50, 1500), "jitter": rng.randint(0, 50)}),
                ("timeout", {"timeout": 0}),
                ("reset_peer", {"timeout": 0}),
                ("limit_data", {"bytes": rng.randint(1, 64)}),
            ]
        )
        stream = rng.choice(list(STREAMS))
        return {"link": link, "type": toxic_type, "stream": stream, "attributes": attributes}

    def check(self, params: Params, *, replication: str = "async") -> str | None:
        attributes = params["attributes"]
        if params["type"] == "latency" and attributes.get("jitter", 0) > attributes["latency"]:
            return "attributes.jitter: larger than latency (a negative delay)"
        return None

    def target(self, params: Params) -> str:
        return params["link"]

    async def prepare(self, context: FaultContext, params: Params) -> dict[str, Any]:
        link = params["link"]
        baseline = await probe_link(
            context.links[link]["listen"], link, timeout_s=BASELINE_PROBE_TIMEOUT_S
        )
        return {"baseline": baseline}

    async def start(self, context: FaultContext, step: Injection) -> ActiveToxic:
        link = step.params["link"]
        await context.toxiproxy.add_toxic(
            link,
            name=step.name,
            type=step.params["type"],
            stream=step.params.get("stream", DOWNSTREAM),
            toxicity=float(step.params.get("toxicity", TOXICITY_DEFAULT)),
            attributes=dict(step.params["attributes"]),
        )
        return ActiveToxic(context, step.name, step.params, step.prepared["baseline"])


KIND = ToxicKind()
