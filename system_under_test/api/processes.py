"""Several API processes on one port: the process the deployment starts serves the API (and the
admin endpoint) and starts PAYCHAOS_API_PROCESSES - 1 children that serve the API only, every
one of them listening with SO_REUSEPORT, so the kernel spreads connections over them.

They live and die together:
- a child dies with its parent, whatever kills the parent, SIGKILL included (PR_SET_PDEATHSIG,
  as system_under_test/deploy/processes.py does for every service);
- the parent stops (exit 1) when a child dies, so a crash of any API process is a crash of
  the API that the deployment sees and restarts;
- SIGTERM or SIGINT to the parent stops the children first, within CHILD_STOP_TIMEOUT_S.

Failpoints live in one process's memory: with several processes, arming one is refused
(naming the setting), since it would fire in whichever process a request happens to reach.
"""

import asyncio
import ctypes
import functools
import logging
import os
import signal
import subprocess
import sys

from system_under_test.config import API_PROCESSES_ENV
from system_under_test.failpoints import Failpoints, FailpointSpecError

log = logging.getLogger("paychaos.api")

CHILD_OF_FLAG = "--child-of"
# How often the parent looks for a dead child; a dead child's connections fail meanwhile.
CHILD_POLL_S = 0.2
# A child's graceful stop (its requests in flight finish) before it is killed.
CHILD_STOP_TIMEOUT_S = 5.0
_PR_SET_PDEATHSIG = 1


def _die_with_parent(parent_pid: int) -> None:
    # Runs in the child between fork and exec. The parent may have died before the prctl:
    # then the child was reparented already and exits at once.
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent_pid:
        os._exit(1)


def start_children(count: int, listen: tuple[str, int]) -> list[subprocess.Popen]:
    """Start `count` API-only children on `listen`, in this process's process group (so that a
    signal to the group, as the deployment sends it, reaches them too)."""
    host, port = listen
    children = []
    for _ in range(count):
        command = [
            sys.executable,
            "-m",
            "system_under_test.api",
            "--listen",
            f"{host}:{port}",
            CHILD_OF_FLAG,
            str(os.getpid()),
        ]
        children.append(
            subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                preexec_fn=functools.partial(_die_with_parent, os.getpid()),
            )
        )
    return children


async def watch_children(children: list[subprocess.Popen], stop: asyncio.Event) -> None:
    """Set `stop` as soon as a child has exited."""
    while not stop.is_set():
        for child in children:
            status = child.poll()
            if status is not None:
                log.error("API process %d exited with %d: the API stops", child.pid, status)
                stop.set()
                return
        await asyncio.sleep(CHILD_POLL_S)


def stop_children(children: list[subprocess.Popen]) -> None:
    """Stop every child: SIGTERM, then SIGKILL after CHILD_STOP_TIMEOUT_S."""
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    for child in children:
        try:
            child.wait(timeout=CHILD_STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


class SingleProcessFailpoints(Failpoints):
    """Failpoints of an API that runs several processes: arming is refused."""

    def arm(self, name: str, action: str, *, nth: int = 1, delay_ms: int = 0) -> None:
        raise FailpointSpecError(
            "name",
            f"failpoints need a single API process ({API_PROCESSES_ENV}=1): an armed point "
            "would fire only in the process a request happens to reach",
        )
