"""`paychaos up` and `paychaos down`: keep one topology up until told to stop, and stop it.

The `up` process records itself in ``RUNS_DIR/up.json`` once its topology is up: its pid, its
start time and its command line. `down` signals that process (SIGTERM, which takes the Ctrl-C
path) only when the process with that pid is still the one recorded and belongs to this user,
and waits for it to tear its topology down.
"""

import os
import select
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from invariants.model.errors import RunFileError
from invariants.model.files import UP_FILE
from invariants.model.up_record import UpRecord, load_up_record
from scenarios.campaign import new_run_dir, point_latest
from scenarios.errors import HarnessError
from scenarios.process_identity import ProcessIdentity, identify, this_process
from scenarios.run_files import write_topology_files, write_up_record
from system_under_test.deploy.ports import require_free
from system_under_test.deploy.topology import Topology

# `paychaos down` waits this long for the `up` process to tear its topology down.
DOWN_TIMEOUT_S = 60.0


def new_up_run(runs_root: Path, *, proxy_api_port: int) -> Path:
    """A fresh run directory for `up`; refused, before anything is made, while another `up`
    process lives or when the proxy API port is taken."""
    record = _recorded(runs_root / UP_FILE)
    if record is not None and _refusal(record, identify(record.pid)) is None:
        raise HarnessError(f"a topology is already up (pid {record.pid}); `paychaos down`")
    if proxy_api_port:
        require_free(proxy_api_port, "the fault proxy API")
    return new_run_dir(runs_root, "up", 0)


@contextmanager
def kept_up(topology: Topology, run_dir: Path, runs_root: Path) -> Iterator[Path]:
    """Start ``topology``, write its endpoints, point `latest` to ``run_dir`` and record this
    process as the `up` one; yields the endpoints file. Torn down and unrecorded on the way
    out, however it ends."""
    try:
        endpoints_file = write_topology_files(run_dir, topology.start())
        point_latest(runs_root, run_dir)
        process = this_process()
        record = UpRecord(
            pid=process.pid,
            start_ticks=process.start_ticks,
            command_line=process.command_line,
            run_dir=str(run_dir),
        )
        write_up_record(runs_root, record)
        yield endpoints_file
    finally:
        topology.teardown()
        (runs_root / UP_FILE).unlink(missing_ok=True)


def wait_for_stop() -> None:
    """Sleep until Ctrl-C or SIGTERM (which the CLI turns into KeyboardInterrupt)."""
    try:
        while True:
            signal.pause()
    except KeyboardInterrupt:
        pass


def take_down(runs_root: Path) -> str:
    """Stop the `up` process of ``runs_root`` and wait until it has torn down; returns what
    happened, as one line. Signals nothing it cannot prove is that process."""
    state_file = runs_root / UP_FILE
    record = _recorded(state_file)
    if record is None:
        raise HarnessError(f"no topology is up (no {state_file})")
    gone = f"the `up` process {record.pid} is gone; nothing to tear down"
    try:
        pidfd = os.pidfd_open(record.pid)
    except ProcessLookupError:
        state_file.unlink(missing_ok=True)
        return gone
    try:
        # Checked after the descriptor is open: it keeps naming this process even if the
        # pid is given to another one, so what is checked is what is signalled.
        process = identify(record.pid)
        if process is None:
            # Exited, not reaped yet.
            state_file.unlink(missing_ok=True)
            return gone
        refusal = _refusal(record, process)
        if refusal is not None:
            raise HarnessError(f"refused to signal pid {record.pid}: {refusal}")
        signal.pidfd_send_signal(pidfd, signal.SIGTERM)
        # A process descriptor becomes readable when its process exits.
        poller = select.poll()
        poller.register(pidfd, select.POLLIN)
        if not poller.poll(DOWN_TIMEOUT_S * 1000):
            raise HarnessError(f"`up` process {record.pid} did not stop in {DOWN_TIMEOUT_S:.0f} s")
    finally:
        os.close(pidfd)
    return "topology down"


def _recorded(state_file: Path) -> UpRecord | None:
    """The record in ``state_file``, None without one; a record that is not this user's or
    is unreadable is refused, since nothing it names can be trusted."""
    try:
        owner = state_file.stat().st_uid
        record = load_up_record(state_file)
    except FileNotFoundError:
        return None
    except (OSError, RunFileError) as error:
        raise HarnessError(f"{_unreadable(error)}; remove it if no `paychaos up` runs") from None
    if owner != os.getuid():
        raise HarnessError(
            f"{state_file} belongs to uid {owner}, not to this user (uid {os.getuid()}); "
            "nothing it names is signalled"
        )
    return record


def _unreadable(error: Exception) -> str:
    if isinstance(error, OSError):
        return f"cannot read {error.filename}: {error.strerror}"
    return f"unreadable {UP_FILE}: {error}"


def _refusal(record: UpRecord, process: ProcessIdentity | None) -> str | None:
    """Why ``process`` (None: no process) is not the `up` process ``record`` names, or None
    when it is."""
    if process is None:
        return "no such process"
    if process.uid != os.getuid():
        return f"it belongs to uid {process.uid}, not to this user"
    if process.start_ticks != record.start_ticks:
        return "it is another process than the recorded `up` (started at another time)"
    if process.command_line != record.command_line:
        return "it runs another command line than the recorded `up`"
    return None
