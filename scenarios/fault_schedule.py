"""A scenario's fault schedule: checked as a whole (names, durations, overlaps, what a failover
leaves), the random nemesis's faults added to it, and each entry turned into a `FaultStep`."""

import itertools
from typing import Any

from faults import swarm
from faults.kinds import KINDS
from faults.nemesis import FaultStep


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
        kind_name = next(name for name in KINDS if name in fault)
        kind, params = KINDS[kind_name], fault[kind_name]
        where = f"faults[{index}]"
        if kind.needs_duration and "duration_s" not in fault:
            return f"{where}: a {kind_name} needs duration_s"
        if not kind.needs_duration and "duration_s" in fault:
            return f"{where}: a {kind_name} takes no duration_s (it lasts until its own heal)"
        problem = kind.check(params)
        if problem is not None:
            return f"{where}.{kind_name}.{problem}"
        if fault["at_s"] >= workload_s:
            return f"{where}.at_s: {fault['at_s']} is not before the workload ends ({workload_s} s)"
        start = fault["at_s"]
        end = start + kind.lifetime_s(params, fault.get("duration_s"))
        windows.setdefault((kind_name, kind.target(params)), []).append((start, end, index))
        if (
            kind_name == "replica_lag"
            and params["mode"] == "pause_replay"
            and replication == "sync"
        ):
            return f"{where}: a paused replay under sync replication would hold every commit"
    return _overlap(windows) or _after_failover(faults)


def random_nemesis_problem(data: dict[str, Any]) -> str | None:
    """Check the random nemesis's ranges, then add the faults it draws for this seed to the
    scenario's own (so that they are validated and run like them)."""
    config = data.get("nemesis", {}).get("random")
    if config is None:
        return None
    for name in ("faults", "start_s", "duration_s"):
        if config[name]["min"] > config[name]["max"]:
            return f"nemesis.random.{name}: min {config[name]['min']} > max {config[name]['max']}"
    if config["start_s"]["max"] >= data["workload"]["duration_s"]:
        return "nemesis.random.start_s: max is not before the workload ends"
    drawn = swarm.random_faults(config, data["seed"])
    taken = {fault["name"] for fault in data.get("faults", [])} & {f["name"] for f in drawn}
    if taken:
        return f"faults: name {sorted(taken)[0]!r} is the random nemesis's own"
    data["faults"] = [*data.get("faults", []), *drawn]
    return None


def _after_failover(faults: list[dict[str, Any]]) -> str | None:
    # A failover leaves no replica: nothing can lag, be killed as a replica, or fail over again.
    failovers = [fault["at_s"] for fault in faults if "failover" in fault]
    if not failovers:
        return None
    first = min(failovers)
    for index, fault in enumerate(faults):
        kind_name = next(name for name in KINDS if name in fault)
        needs_replica = kind_name in ("failover", "replica_lag") or (
            KINDS[kind_name].target(fault[kind_name]) == "pg-replica"
        )
        if needs_replica and fault["at_s"] > first:
            return (
                f"faults[{index}]: {kind_name} at {fault['at_s']} s needs the replica, "
                f"which the failover at {first} s promoted"
            )
    return None


def _overlap(windows: dict[tuple[str, str], list[tuple[float, float, int]]]) -> str | None:
    # Two kills of one service at once would fight over one restart; the second would act on
    # the fault, not on the system. Toxics may overlap: each has its own name and heal.
    for (kind_name, target), spans in windows.items():
        if kind_name == "toxic":
            continue
        spans.sort()
        for (_, end, first), (start, _, second) in itertools.pairwise(spans):
            if start < end:
                return (
                    f"faults[{second}]: {kind_name} of {target} at {start} s overlaps "
                    f"faults[{first}], which lasts until {end} s"
                )
    return None


def fault_step(fault: dict[str, Any]) -> FaultStep:
    kind = next(name for name in KINDS if name in fault)
    return FaultStep(
        name=fault["name"],
        at_s=float(fault["at_s"]),
        duration_s=float(fault["duration_s"]) if "duration_s" in fault else None,
        kind=kind,
        params=dict(fault[kind]),
    )
