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

from invariants.model.endpoints import load_endpoints
from invariants.model.files import ENDPOINTS_FILE
from tests.integration import contract

HERE = Path(__file__).parent
SHORT_BASELINE = HERE / "short_baseline.yaml"
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
