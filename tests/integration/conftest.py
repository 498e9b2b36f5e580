"""Running the `paychaos` command against a live local topology, and checking it left nothing."""

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from invariants.model.endpoints import load_endpoints
from invariants.model.files import ENDPOINTS_FILE
from scenarios.scaling import scaled
from scenarios.scenario import SCENARIO_DIRECTORY
from tests.integration import contract

HERE = Path(__file__).parent
# `make test` runs the bundled scenarios on a shorter clock and at a lower rate (one rule,
# scenarios/scaling.py): 30 s of workload become 12, 16 requests a second become 12.
SHORT_CLOCK = 0.4
SHORT_RATE = 0.75
# Run as written: crash-mid-processing's failpoint windows are sized by how many requests must
# reach each point within them, not by the clock; network-timeouts' 6 s upstream latency is
# probed for 6 s whatever its window, so on a short clock its next faults would overlap it.
AS_WRITTEN = frozenset({"crash-mid-processing", "network-timeouts"})
# On the short clock the file's seed draws only replica faults, which no client retries
# through: idempotent_replay would have no replay to check. This seed draws toxics on the API.
SHORT_SEEDS = {"random": 11}
# A short campaign takes about 40 s; far beyond that something hangs.
RUN_TIMEOUT_S = 240


@dataclass
class CommandResult:
    exit_code: int
    stdout: str
    stderr: str
    run_dir: Path | None

    def report(self) -> dict:
        assert self.run_dir is not None
        return json.loads((self.run_dir / "report.json").read_text())


def paychaos(
    *arguments: str,
    runs_dir: Path,
    environment: dict[str, str] | None = None,
    timeout_s: float = RUN_TIMEOUT_S,
) -> CommandResult:
    """Run `paychaos ARGUMENTS` to completion in a subprocess."""
    command = [sys.executable, "-m", "scenarios.cli", *arguments]
    if arguments and arguments[0] == "run":
        command += ["--runs-dir", str(runs_dir)]
    completed = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        env={**os.environ, "PAYCHAOS_SUT_DEFECTS": "", **(environment or {})},
        check=False,
    )
    latest = runs_dir / "latest"
    return CommandResult(
        completed.returncode,
        completed.stdout,
        completed.stderr,
        latest.resolve() if latest.exists() else None,
    )


@contextlib.contextmanager
def background_paychaos(*arguments: str) -> Iterator[subprocess.Popen]:
    """`paychaos ARGUMENTS` running in the background; killed on the way out if still alive."""
    process = subprocess.Popen(
        [sys.executable, "-m", "scenarios.cli", *arguments],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


def wait_until(
    condition: Callable[[], bool], process: subprocess.Popen, *, timeout_s: float
) -> None:
    """Poll `condition` while `process` lives; fail if it dies or `timeout_s` passes first."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, f"not reached in {timeout_s} s"
        time.sleep(0.2)


def _listening(address: str) -> bool:
    host, _, port = address.rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=0.5):
            return True
    except OSError:
        return False


def processes_mentioning(text: str) -> list[str]:
    """Command lines of live processes that mention `text` (e.g. a run directory)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if text in cmdline:
            found.append(f"{proc.name}: {cmdline}")
    return found


def assert_nothing_left(run_dir: Path) -> None:
    """No process of the run and no port of its topology is left behind."""
    assert processes_mentioning(str(run_dir)) == []
    endpoints_file = run_dir / ENDPOINTS_FILE
    if endpoints_file.exists():
        endpoints = load_endpoints(endpoints_file)
        addresses = list(endpoints.services.values())
        addresses += [link["listen"] for link in endpoints.links.values()]
        assert [address for address in addresses if _listening(address)] == []


@pytest.fixture(autouse=True)
def api_contract():
    """Every response a test receives from an API it registered keeps the OpenAPI contract."""
    with contract.recording() as recorded:
        yield
    problems = contract.check(recorded)
    assert problems == [], "\n".join(problems[:20])


@pytest.fixture(scope="session")
def runs_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("runs")


def short_scenario(name: str, directory: Path) -> Path:
    """The bundled scenario `name` on the short clock, written to `directory` (the bundled file
    itself if it runs as written)."""
    bundled = SCENARIO_DIRECTORY / f"{name}.yaml"
    if name in AS_WRITTEN:
        return bundled
    document = scaled(yaml.safe_load(bundled.read_text()), clock=SHORT_CLOCK, rate=SHORT_RATE)
    document["seed"] = SHORT_SEEDS.get(name, document["seed"])
    path = directory / bundled.name
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


@pytest.fixture(scope="session")
def short_scenarios(tmp_path_factory) -> Callable[[str], Path]:
    """The bundled scenarios on the short clock, by name."""
    directory = tmp_path_factory.mktemp("short-scenarios")
    return lambda name: short_scenario(name, directory)
