"""One service process: started with its log file, stopped always, never orphaned."""

import concurrent.futures
import ctypes
import os
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from system_under_test.deploy.errors import DeployError

# How long a service gets to stop on its stop signal before SIGKILL.
STOP_TIMEOUT_S = 10.0
# How long SIGKILL may take to be reaped.
KILL_TIMEOUT_S = 5.0
READY_POLL_INTERVAL_S = 0.1

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    # If the harness itself is SIGKILLed, its services must not outlive it.
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


# PR_SET_PDEATHSIG fires when the THREAD that forked the child ends, not the process: a
# service restarted from a short-lived thread (asyncio.to_thread) would be killed with it. So
# every service is forked by this one thread, which lives as long as the harness.
_SPAWNER = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="spawner")


@dataclass
class ServiceProcess:
    """A service started by command, in its own session, with output to `log_path`."""

    name: str
    command: Sequence[str]
    log_path: Path
    environment: dict[str, str] = field(default_factory=dict)
    user: str | None = None
    cwd: Path | None = None
    # PostgreSQL's fast shutdown is SIGINT (SIGTERM waits for clients to leave).
    stop_signal: int = signal.SIGTERM
    process: subprocess.Popen | None = None

    def start(self) -> None:
        """Start the process; a missing executable is a DeployError naming it."""
        assert self.process is None or self.process.poll() is not None, f"{self.name} running"
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            try:
                self.process = _SPAWNER.submit(
                    subprocess.Popen,
                    list(self.command),
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env={**os.environ, **self.environment},
                    cwd=self.cwd,
                    user=self.user,
                    start_new_session=True,
                    preexec_fn=_die_with_parent,
                ).result()
            except FileNotFoundError:
                raise DeployError(
                    f"cannot start {self.name}: {self.command[0]} not found"
                ) from None

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @property
    def pid(self) -> int | None:
        """The process id while it runs."""
        return self.process.pid if self.running() and self.process is not None else None

    def stopped(self) -> bool:
        """Whether the process is stopped by a signal (SIGSTOP): state T in /proc."""
        pid = self.pid
        if pid is None:
            return False
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            return False
        # The state letter follows the parenthesised command name.
        return stat.rpartition(")")[2].split()[0] == "T"

    def signal(self, signal_number: int) -> None:
        """Send a signal to the service's process group (its children too)."""
        if self.running():
            assert self.process is not None
            os.killpg(self.process.pid, signal_number)

    def kill(self) -> int | None:
        """SIGKILL the process group and reap it; returns the exit status."""
        if self.process is None:
            return None
        if self.running():
            os.killpg(self.process.pid, signal.SIGKILL)
        try:
            return self.process.wait(timeout=KILL_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            raise DeployError(f"{self.name} (pid {self.process.pid}) survived SIGKILL") from None

    def stop(self) -> None:
        """Stop gracefully within STOP_TIMEOUT_S, then SIGKILL; safe to call twice."""
        if not self.running():
            return
        assert self.process is not None
        try:
            # A paused service cannot act on its stop signal until it runs again.
            os.killpg(self.process.pid, signal.SIGCONT)
            os.killpg(self.process.pid, self.stop_signal)
            self.process.wait(timeout=STOP_TIMEOUT_S)
        except (subprocess.TimeoutExpired, ProcessLookupError):
            pass
        finally:
            self.kill()

    def log_tail(self, line_count: int = 5) -> str:
        """The last lines of the service's log, for an error message."""
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        return " | ".join(line.strip() for line in lines[-line_count:])

    def wait_ready(self, check: Callable[[], bool], *, timeout_s: float) -> None:
        """Poll `check` until it holds; the process dying or the timeout is a DeployError."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if not self.running():
                raise DeployError(f"{self.name} exited during start-up: {self.log_tail()}")
            if check():
                return
            time.sleep(READY_POLL_INTERVAL_S)
        raise DeployError(f"{self.name} not ready after {timeout_s:.0f} s: {self.log_tail()}")
