"""The seeded random nemesis (swarm testing): from a seed, a mix of fault kinds, how many, when
and with what parameters. Pure: the same seed and configuration give the same schedule.

Each seed first draws which kinds of the pool take part (each with even odds, at least one):
different seeds explore different mixes, which finds more than every kind at once would. Then
it draws each fault's kind, start, duration and parameters from that kind's table, and keeps a
fault only if it fits beside the ones before it (no two faults of one target at once), so the
schedule is as valid as a hand-written one. Faults come out as scenario entries, which the
scenario validates like any other.
"""

import random
from collections.abc import Callable, Mapping
from typing import Any

from faults.kinds.kill import KILLABLE_SERVICES
from system_under_test.deploy.spec import LINKS

# Processes a random fault may stop: the databases have their own kinds' care in scenarios.
SERVICES = [service for service in KILLABLE_SERVICES if not service.startswith("pg-")]
# Draws per fault before a crowded schedule gives up on it.
PLACEMENT_ATTEMPTS_MAX = 20


def _toxic(rng: random.Random) -> dict[str, Any]:
    link = rng.choice(sorted(LINKS))
    toxic_type, attributes = rng.choice(
        [
            ("latency", {"latency": rng.randint(50, 1500), "jitter": rng.randint(0, 50)}),
            ("timeout", {"timeout": 0}),
            ("reset_peer", {"timeout": 0}),
            ("limit_data", {"bytes": rng.randint(1, 64)}),
        ]
    )
    stream = rng.choice(["upstream", "downstream"])
    return {"link": link, "type": toxic_type, "stream": stream, "attributes": attributes}


def _service(rng: random.Random) -> dict[str, Any]:
    return {"service": rng.choice(SERVICES)}


def _kill(rng: random.Random) -> dict[str, Any]:
    return {"service": rng.choice(SERVICES), "restart_after_s": round(rng.uniform(0.5, 2.0), 2)}


def _partition(rng: random.Random) -> dict[str, Any]:
    return {
        "link": rng.choice(sorted(LINKS)),
        "direction": rng.choice(["both", "upstream", "downstream"]),
    }


def _replica_lag(rng: random.Random) -> dict[str, Any]:
    return {"mode": "pause_replay"}


# Per kind: how to draw its parameters, and whether its scenario entry takes a duration.
TABLES: Mapping[str, tuple[Callable[[random.Random], dict[str, Any]], bool]] = {
    "toxic": (_toxic, True),
    "kill": (_kill, False),
    "pause": (_service, True),
    "restart": (_service, False),
    "partition": (_partition, True),
    "replica_lag": (_replica_lag, True),
}

_RANGE = {
    "type": "object",
    "additionalProperties": False,
    "required": ["min", "max"],
    "properties": {
        "min": {"type": "number", "minimum": 0},
        "max": {"type": "number", "minimum": 0},
    },
}
SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["kinds", "faults", "start_s", "duration_s"],
    "properties": {
        "kinds": {
            "type": "array",
            "minItems": 1,
            "uniqueItems": True,
            "items": {"enum": sorted(TABLES)},
        },
        "faults": _RANGE,
        "start_s": _RANGE,
        "duration_s": _RANGE,
    },
}


def swarm_mix(kinds: list[str], rng: random.Random) -> list[str]:
    """The kinds this seed uses: each of the pool with even odds, never none."""
    chosen = [kind for kind in sorted(kinds) if rng.random() < 0.5]
    return chosen or [rng.choice(sorted(kinds))]


def random_faults(config: Mapping[str, Any], seed: int) -> list[dict[str, Any]]:
    """The seed's fault schedule, as scenario `faults` entries in start order."""
    rng = random.Random(f"{seed}:nemesis")
    mix = swarm_mix(list(config["kinds"]), rng)
    count = rng.randint(int(config["faults"]["min"]), int(config["faults"]["max"]))
    faults: list[dict[str, Any]] = []
    busy: dict[str, list[tuple[float, float]]] = {}
    for number in range(count):
        for _ in range(PLACEMENT_ATTEMPTS_MAX):
            fault = _draw(rng, mix, config, number)
            kind = next(name for name in TABLES if name in fault)
            lasts_s = fault.get("duration_s") or fault[kind].get("restart_after_s", 0.0)
            # A restart's own time: a second of margin before another fault of its service.
            span = (fault["at_s"], fault["at_s"] + lasts_s + 1.0)
            target = str(fault[kind].get("service") or fault[kind].get("link") or kind)
            if all(span[1] <= start or end <= span[0] for start, end in busy.get(target, [])):
                busy.setdefault(target, []).append(span)
                faults.append(fault)
                break
    return sorted(faults, key=lambda fault: fault["at_s"])


def _draw(rng: random.Random, mix: list[str], config: Mapping[str, Any], number: int) -> dict:
    kind = rng.choice(mix)
    draw_params, has_duration = TABLES[kind]
    start, duration = config["start_s"], config["duration_s"]
    fault: dict[str, Any] = {
        "name": f"random-{number}-{kind.replace('_', '-')}",
        "at_s": round(rng.uniform(start["min"], start["max"]), 2),
        kind: draw_params(rng),
    }
    if has_duration:
        fault["duration_s"] = round(rng.uniform(duration["min"], duration["max"]), 2)
    return fault
