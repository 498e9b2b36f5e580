"""The seeded random nemesis (swarm testing): from a seed, a mix of fault kinds, how many, when
and with what parameters. Pure: the same seed and configuration give the same schedule.

Each seed first draws which kinds of the pool take part (each with even odds, at least one):
different seeds explore different mixes, which finds more than every kind at once would. Then
it draws each fault's kind, start and duration, and its parameters by the kind's own `draw`
(faults/kinds), and keeps a fault only if it fits beside the ones before it (no two faults of
one target at once), so the schedule is as valid as a hand-written one. Faults come out as
scenario entries, which the scenario validates like any other.
"""

import random
from collections.abc import Mapping
from typing import Any

from faults.kinds import KINDS, RANDOM_NEMESIS_KINDS, kind_of
from faults.kinds.base import ON_CLOCK

# Draws per fault before a crowded schedule gives up on it.
PLACEMENT_ATTEMPTS_MAX = 20

# Every range scales with the run's clock: its times, and how many faults fit in it.
_RANGE = {
    "type": "object",
    "additionalProperties": False,
    "required": ["min", "max"],
    "properties": {
        "min": {"type": "number", "minimum": 0, **ON_CLOCK},
        "max": {"type": "number", "minimum": 0, **ON_CLOCK},
    },
}
# How many faults: whole numbers.
_COUNT = {
    **_RANGE,
    "properties": {
        key: {**value, "type": "integer"} for key, value in _RANGE["properties"].items()
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
            "items": {"enum": RANDOM_NEMESIS_KINDS},
        },
        "faults": _COUNT,
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
            name = kind_of(fault)
            kind, params = KINDS[name], fault[name]
            lasts_s = kind.lifetime_s(params, fault.get("duration_s"))
            # A restart's own time: a second of margin before another fault of its service.
            span = (fault["at_s"], fault["at_s"] + lasts_s + 1.0)
            target = kind.target(params)
            if all(span[1] <= start or end <= span[0] for start, end in busy.get(target, [])):
                busy.setdefault(target, []).append(span)
                faults.append(fault)
                break
    return sorted(faults, key=lambda fault: fault["at_s"])


def _draw(rng: random.Random, mix: list[str], config: Mapping[str, Any], number: int) -> dict:
    name = rng.choice(mix)
    start, duration = config["start_s"], config["duration_s"]
    fault: dict[str, Any] = {
        "name": f"random-{number}-{name.replace('_', '-')}",
        "at_s": round(rng.uniform(start["min"], start["max"]), 2),
        name: KINDS[name].draw(rng),
    }
    if KINDS[name].needs_duration:
        fault["duration_s"] = round(rng.uniform(duration["min"], duration["max"]), 2)
    return fault
