"""`paychaos up` and `paychaos down`: keep one topology up until told to stop, and stop it.

The `up` process records itself in ``RUNS_DIR/up.json``; `down` signals that process (SIGTERM,
which takes the Ctrl-C path) and waits for it to tear its topology down.
"""

import json
import os
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from reports.atomic import write_atomic
from scenarios.campaign import new_run_dir, point_latest
from scenarios.errors import HarnessError
from scenarios.run_files import write_topology_files
from system_under_test.deploy.topology import Topology

UP_STATE_FILE_NAME = "up.json"
# `paychaos down` waits this long for the `up` process to tear its topology down.
DOWN_TIMEOUT_S = 60.0
DOWN_POLL_S = 0.2


def new_up_run(runs_root: Path) -> Path:
    """A fresh run directory for `up` (and `latest` pointing to it); refused while another
    `up` process lives."""
    state_file = runs_root / UP_STATE_FILE_NAME
    if state_file.exists():
        state = json.loads(state_file.read_text())
        if _alive(state["pid"]):
            raise HarnessError(f"a topology is already up (pid {state['pid']}); `paychaos down`")
    runs_root.mkdir(parents=True, exist_ok=True)
    run_dir = new_run_dir(runs_root, "up", 0)
    point_latest(runs_root, run_dir)
    return run_dir


@contextmanager
def kept_up(topology: Topology, run_dir: Path, runs_root: Path) -> Iterator[Path]:
    """Start ``topology``, write its endpoints and record this process as the `up` one;
    yields the endpoints file. Torn down and unrecorded on the way out, however it ends."""
    state_file = runs_root / UP_STATE_FILE_NAME
    try:
        endpoints_file = write_topology_files(run_dir, topology.start())
        write_atomic(state_file, json.dumps({"pid": os.getpid(), "run_dir": str(run_dir)}))
        yield endpoints_file
    finally:
        topology.teardown()
        state_file.unlink(missing_ok=True)


def wait_for_stop() -> None:
    """Sleep until Ctrl-C or SIGTERM (which the CLI turns into KeyboardInterrupt)."""
    try:
        while True:
            signal.pause()
    except KeyboardInterrupt:
        pass


def take_down(runs_root: Path) -> str:
    """Stop the `up` process of ``runs_root`` and wait until it has torn down; returns what
    happened, as one line."""
    state_file = runs_root / UP_STATE_FILE_NAME
    if not state_file.exists():
        raise HarnessError(f"no topology is up (no {state_file})")
    pid = json.loads(state_file.read_text())["pid"]
    if not _alive(pid):
        state_file.unlink(missing_ok=True)
        return f"the `up` process {pid} is gone; nothing to tear down"
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + DOWN_TIMEOUT_S
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(DOWN_POLL_S)
    if _alive(pid):
        raise HarnessError(f"`up` process {pid} did not stop in {DOWN_TIMEOUT_S:.0f} s")
    return "topology down"


def _alive(pid: int) -> bool:
    """Whether `pid` runs; an exited process that its parent has not reaped yet does not."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    # The state letter follows the parenthesised command name; Z is a zombie.
    return stat.rpartition(")")[2].split()[0] != "Z"
