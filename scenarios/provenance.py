"""Where a run came from: commit, scenario, seed, configuration and tool versions."""

import importlib.metadata
import platform
import subprocess
from pathlib import Path
from typing import Any

from invariants.model.provenance import Provenance
from scenarios.scenario import SCENARIO_DIRECTORY

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# git and postgres --version answer at once; a hang here must not stall a run.
COMMAND_TIMEOUT_S = 10
PACKAGES = ("paychaos", "aiohttp", "sqlalchemy", "asyncpg", "jsonschema", "pyyaml")


def _output(command: list[str]) -> str | None:
    try:
        completed = subprocess.run(
            command,
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return completed.stdout.strip() if completed.returncode == 0 else None


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def source_provenance() -> dict[str, Any]:
    """The commit the code is at, and whether tracked files differ from it (None: unknown)."""
    status = _output(["git", "status", "--porcelain", "--untracked-files=no"])
    return {
        "git_commit": _output(["git", "rev-parse", "HEAD"]) or "unknown",
        "git_dirty": bool(status) if status is not None else None,
    }


def scenario_reference(source_path: str) -> str:
    """What `paychaos run`, at the project's root on any machine, takes to load the scenario
    file at `source_path` again: a bundled scenario's name, else its path relative to the
    project, else the path as given (a file from outside the project travels by hand).

    >>> scenario_reference(str(SCENARIO_DIRECTORY / "baseline.yaml"))
    'baseline'
    >>> scenario_reference(str(PROJECT_ROOT / "tests" / "integration" / "seeded.yaml"))
    'tests/integration/seeded.yaml'
    >>> scenario_reference("/elsewhere/mine.yaml")
    '/elsewhere/mine.yaml'
    """
    path = Path(source_path).resolve()
    if path.parent == SCENARIO_DIRECTORY.resolve() and path.suffix == ".yaml":
        return path.stem
    if path.is_relative_to(PROJECT_ROOT):
        return path.relative_to(PROJECT_ROOT).as_posix()
    return source_path


def postgres_version(bindir: Path) -> str | None:
    """`postgres --version` of the server binaries in `bindir`, or None if it does not answer."""
    return _output([str(bindir / "postgres"), "--version"])


def collect_provenance(
    *, scenario: Any, seed: int, defects: list[str], postgres_bindir: Path | None
) -> Provenance:
    """Everything needed to tell what ran: enough to reproduce it with the same seed."""
    postgres = postgres_version(postgres_bindir) if postgres_bindir else None
    source = source_provenance()
    return Provenance(
        git_commit=source["git_commit"],
        git_dirty=source["git_dirty"],
        scenario=scenario.name,
        scenario_file=scenario.source_path,
        scenario_reference=scenario_reference(scenario.source_path),
        scenario_sha256=scenario.source_sha256,
        seed=seed,
        defects=defects,
        config={
            "workload": {
                "clients": scenario.workload.clients,
                "rate_per_s": scenario.workload.rate_per_s,
                "duration_s": scenario.workload.duration_s,
                "mix": scenario.workload.mix,
                "request_timeout_s": scenario.workload.request_timeout_s,
            },
            "faults": [step.name for step in scenario.faults],
            "invariants": list(scenario.invariants),
            "backend": "local",
        },
        tools={
            "python": platform.python_version(),
            "postgres": postgres,
            **{package: _version(package) for package in PACKAGES},
        },
    )
