"""A scenario's fault schedule: the schema of a fault step (each kind's own schema under its
key), the checks of the whole schedule (names, durations, overlaps, what a failover leaves),
the random nemesis's faults added to the written ones, and each entry made a `FaultStep`.

Everything a check knows of a kind it asks the kind (faults/kinds): the schedule knows no
kind by name.
"""

import itertools
from typing import Any

from faults import swarm
from faults.kinds import KINDS, kind_of
from faults.kinds.base import ON_CLOCK
from faults.nemesis import FaultStep

# What every deployment runs on today (system_under_test/deploy/local.py).
BACKEND = "local"

STEP_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name", "at_s"],
    # Exactly one fault kind per step, named by its key.
    "oneOf": [{"required": [name]} for name in KINDS],
    "properties": {
        "name": {"type": "string", "pattern": "^[a-z0-9][a-z0-9_-]*$"},
        "at_s": {"type": "number", "minimum": 0, **ON_CLOCK},
        "duration_s": {"type": "number", "exclusiveMinimum": 0, "maximum": 3600, **ON_CLOCK},
        **{name: kind.schema for name, kind in KINDS.items()},
    },
}


def schedule_problem(
    faults: list[dict[str, Any]], workload_s: float, *, replication: str = "async"
) -> str | None:
    """What makes a (schema-valid) fault schedule impossible, or None."""
    names = [fault["name"] for fault in faults]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        return f"faults: name {duplicates[0]!r} is used twice"
    windows: dict[tuple[str, str], list[tuple[float, float, int]]] = {}
    for index, fault in enumerate(faults):
        problem = _step_problem(fault, workload_s, replication)
        if problem is not None:
            return f"faults[{index}]{problem}"
        name = kind_of(fault)
        kind, params = KINDS[name], fault[name]
        if not kind.overlaps:
            start = fault["at_s"]
            end = start + kind.lifetime_s(params, fault.get("duration_s"))
            windows.setdefault((name, kind.target(params)), []).append((start, end, index))
    return _overlap(windows) or _after_failover(faults)


def _step_problem(fault: dict[str, Any], workload_s: float, replication: str) -> str | None:
    # What is wrong with one step, from the key it names on (after the step's place).
    name = kind_of(fault)
    kind, params = KINDS[name], fault[name]
    if kind.needs_duration and "duration_s" not in fault:
        return f": a {name} needs duration_s"
    if not kind.needs_duration and "duration_s" in fault:
        return f": a {name} takes no duration_s (it lasts until its own heal)"
    if BACKEND not in kind.backends:
        return f".{name}: the {BACKEND} backend cannot inject it"
    problem = kind.check(params, replication=replication)
    if problem is not None:
        return f".{name}.{problem}"
    if fault["at_s"] >= workload_s:
        return f".at_s: {fault['at_s']} is not before the workload ends ({workload_s} s)"
    return None


def random_nemesis_problem(data: dict[str, Any]) -> str | None:
    """What makes a (schema-valid) random nemesis's ranges impossible, or None."""
    config = data.get("nemesis", {}).get("random")
    if config is None:
        return None
    for name in ("faults", "start_s", "duration_s"):
        if config[name]["min"] > config[name]["max"]:
            return f"nemesis.random.{name}: min {config[name]['min']} > max {config[name]['max']}"
    if config["start_s"]["max"] >= data["workload"]["duration_s"]:
        return "nemesis.random.start_s: max is not before the workload ends"
    return None


def scheduled_faults(data: dict[str, Any]) -> tuple[list[dict[str, Any]], str | None]:
    """A valid scenario's written faults, then those the random nemesis draws for its seed; and
    what makes the two together impossible, or None."""
    written = data.get("faults", [])
    config = data.get("nemesis", {}).get("random")
    drawn = [] if config is None else swarm.random_faults(config, data["seed"])
    taken = {fault["name"] for fault in written} & {fault["name"] for fault in drawn}
    if taken:
        return written, f"faults: name {sorted(taken)[0]!r} is the random nemesis's own"
    faults = [*written, *drawn]
    replication = data.get("topology", {}).get("replication", "async")
    workload_s = float(data["workload"]["duration_s"])
    return faults, schedule_problem(faults, workload_s, replication=replication)


def _after_failover(faults: list[dict[str, Any]]) -> str | None:
    # A failover leaves no replica: nothing can lag, be killed as a replica, or fail over again.
    failovers = [fault["at_s"] for fault in faults if KINDS[kind_of(fault)].removes_replica]
    if not failovers:
        return None
    first = min(failovers)
    for index, fault in enumerate(faults):
        name = kind_of(fault)
        if KINDS[name].needs_replica(fault[name]) and fault["at_s"] > first:
            return (
                f"faults[{index}]: {name} at {fault['at_s']} s needs the replica, "
                f"which the failover at {first} s promoted"
            )
    return None


def _overlap(windows: dict[tuple[str, str], list[tuple[float, float, int]]]) -> str | None:
    # Two kills of one service at once would fight over one restart; the second would act on
    # the fault, not on the system.
    for (name, target), spans in windows.items():
        spans.sort()
        for (_, end, first), (start, _, second) in itertools.pairwise(spans):
            if start < end:
                return (
                    f"faults[{second}]: {name} of {target} at {start} s overlaps "
                    f"faults[{first}], which lasts until {end} s"
                )
    return None


def fault_step(fault: dict[str, Any]) -> FaultStep:
    """A scenario's fault entry as the nemesis runs it."""
    name = kind_of(fault)
    return FaultStep(
        name=fault["name"],
        at_s=float(fault["at_s"]),
        duration_s=float(fault["duration_s"]) if "duration_s" in fault else None,
        kind=name,
        params=dict(fault[name]),
    )
