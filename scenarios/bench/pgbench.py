"""pgbench -N on the SUT's primary, in a database of its own (the SUT's tables untouched):
what the database alone does on this machine, measured in the same run as the SUT."""

import re
from dataclasses import dataclass
from pathlib import Path

from scenarios.bench.errors import BenchError
from scenarios.bench.tools import run_tool
from system_under_test.deploy.postgres import SUPERUSER

DATABASE = "paychaos_pgbench"
# pgbench's default scale: 100,000 accounts. -N updates accounts and appends history only,
# so clients do not queue on the few branch and teller rows whatever the scale.
SCALE = 1
# Initialising the tables (and streaming them to the replica) takes seconds; a minute means
# something is broken.
INIT_TIMEOUT_S = 60.0
# A run ends by itself after its duration; this much longer means pgbench hangs.
RUN_SLACK_S = 30.0
_TPS = re.compile(r"^tps = ([0-9.]+) \(without initial connection time\)", re.MULTILINE)
_LATENCY = re.compile(r"^latency average = ([0-9.]+) ms", re.MULTILINE)


class PgbenchError(BenchError):
    """pgbench failed or printed no figures; the message quotes its output."""


@dataclass(frozen=True)
class PgbenchResult:
    clients: int
    duration_s: float
    tps: float
    latency_average_ms: float


def _run(command: list[str], timeout_s: float) -> str:
    completed = run_tool(command, timeout_s=timeout_s, error=PgbenchError)
    if completed.returncode != 0:
        tail = (completed.stderr or completed.stdout).strip().splitlines()[-3:]
        raise PgbenchError(f"{' '.join(command[:2])} failed: {' | '.join(tail)}")
    return completed.stdout


def _connection(port: int) -> list[str]:
    return ["-h", "127.0.0.1", "-p", str(port), "-U", SUPERUSER]


def initialise(bindir: Path, port: int) -> None:
    """Create the pgbench database beside the SUT's and fill its tables."""
    _run([str(bindir / "createdb"), *_connection(port), DATABASE], INIT_TIMEOUT_S)
    _run(
        [str(bindir / "pgbench"), "-i", "-q", "-s", str(SCALE), *_connection(port), DATABASE],
        INIT_TIMEOUT_S,
    )


def parse_output(text: str, *, clients: int, duration_s: float) -> PgbenchResult:
    """The figures of a pgbench run's output.

    >>> out = "latency average = 9.123 ms\\ntps = 1748.5 (without initial connection time)\\n"
    >>> parse_output(out, clients=16, duration_s=8).tps
    1748.5
    """
    tps, latency = _TPS.search(text), _LATENCY.search(text)
    if tps is None or latency is None:
        raise PgbenchError(f"pgbench printed no tps or latency: {text.strip()[-300:]!r}")
    return PgbenchResult(clients, duration_s, float(tps.group(1)), float(latency.group(1)))


def run(bindir: Path, port: int, *, clients: int, duration_s: float) -> PgbenchResult:
    """pgbench -N (no branch or teller updates) with `clients` clients for `duration_s`."""
    threads = min(clients, 2)
    output = _run(
        [
            str(bindir / "pgbench"),
            "-N",
            "-c",
            str(clients),
            "-j",
            str(threads),
            "-T",
            str(int(duration_s)),
            *_connection(port),
            DATABASE,
        ],
        duration_s + RUN_SLACK_S,
    )
    return parse_output(output, clients=clients, duration_s=duration_s)
