"""The PostgreSQL tools the bench measures with (createdb, pgbench, pg_waldump), each run to
its end within a bound, its output captured."""

import subprocess
from pathlib import Path

from scenarios.bench.errors import BenchError


def run_tool(
    command: list[str], *, timeout_s: float, error: type[BenchError]
) -> subprocess.CompletedProcess[str]:
    """Run `command` with its output captured; one still running after `timeout_s` is killed
    and raises `error`, naming the tool. The caller judges the exit status."""
    try:
        return subprocess.run(
            command,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise error(f"{Path(command[0]).name} did not finish in {timeout_s:.0f} s") from None
