"""Where the machine's CPU went during a step, per service, read from /proc: what holds the
ceiling when the whole topology, the driver included, shares one machine.

Shares are in percent of one core (so two saturated cores are 200%); `machine_busy` is the
share of every CPU that was not idle (softirq and steal included), in percent of all of them.
"""

import os
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")
# Command-line fragments naming each service, first match wins: PostgreSQL's replication
# processes before its other processes.
SERVICES = (
    ("api", "system_under_test.api"),
    ("worker", "system_under_test.worker"),
    ("network", "system_under_test.externals.network"),
    ("proxy", "faults.proxy"),
    ("replication", "walsender"),
    ("replication", "walreceiver"),
    ("replication", "postgres: startup"),
    ("postgres", "postgres"),
)
_IDLE_FIELDS = (3, 4)  # idle, iowait in /proc/stat's cpu line


@dataclass(frozen=True)
class Snapshot:
    # pid -> (service, CPU ticks so far)
    ticks: dict[int, tuple[str, int]]
    machine_total: int
    machine_idle: int


def _service(pid: int, own_pid: int) -> str | None:
    if pid == own_pid:
        return "driver"
    try:
        command = (PROC / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return None
    for service, fragment in SERVICES:
        if fragment in command:
            return service
    return None


def snapshot() -> Snapshot:
    """CPU ticks of every process of the topology and of this driver, and of the machine."""
    own_pid = os.getpid()
    ticks = {}
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        service = _service(pid, own_pid)
        if service is None:
            continue
        try:
            fields = (entry / "stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        # utime and stime: the 14th and 15th fields, 12th and 13th after the command name.
        ticks[pid] = (service, int(fields[11]) + int(fields[12]))
    cpu = [int(value) for value in (PROC / "stat").read_text().split("\n", 1)[0].split()[1:]]
    return Snapshot(ticks, sum(cpu), sum(cpu[index] for index in _IDLE_FIELDS))


def shares(before: Snapshot, after: Snapshot, *, cpu_count: int | None = None) -> dict[str, float]:
    """Percent of one core per service between two snapshots, and the machine's busy share.

    >>> a = Snapshot({1: ("api", 100)}, machine_total=1000, machine_idle=500)
    >>> b = Snapshot({1: ("api", 150)}, machine_total=1200, machine_idle=550)
    >>> figures = shares(a, b, cpu_count=2)
    >>> figures["machine_busy"], figures["api"]
    (75.0, 50.0)
    """
    elapsed = after.machine_total - before.machine_total
    cpu_count = cpu_count or os.cpu_count() or 1
    if elapsed <= 0:
        return {}
    # Ticks of all CPUs together; one core's worth is elapsed / cpu_count.
    one_core = elapsed / cpu_count
    used: dict[str, int] = {}
    for pid, (service, ticks) in after.ticks.items():
        started = before.ticks.get(pid, (service, 0))[1]
        used[service] = used.get(service, 0) + max(0, ticks - started)
    figures = {service: round(100 * count / one_core, 1) for service, count in sorted(used.items())}
    idle = after.machine_idle - before.machine_idle
    figures["machine_busy"] = round(100 * (1 - idle / elapsed), 1)
    return figures
