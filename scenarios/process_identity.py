"""Telling one process from another by more than its pid, from ``/proc``.

A pid is reused once its process has exited; the start time (clock ticks after boot) and the
command line of a living process are not, so together with the pid they name one process.
"""

import os
from dataclasses import dataclass
from pathlib import Path

# /proc/PID/stat after the parenthesised command name: field 3 (state) is index 0 here,
# field 22 (starttime) index 19.
_STATE_INDEX = 0
_START_TICKS_INDEX = 19


@dataclass(frozen=True)
class ProcessIdentity:
    """A living process: its pid, start time, command line and owner."""

    pid: int
    start_ticks: int
    command_line: tuple[str, ...]
    uid: int


def identify(pid: int) -> ProcessIdentity | None:
    """The process ``pid`` as it runs now, or None when none runs (a zombie does not)."""
    proc = Path(f"/proc/{pid}")
    try:
        fields = (proc / "stat").read_text().rpartition(")")[2].split()
        command_line = (proc / "cmdline").read_bytes()
        uid = proc.stat().st_uid
    except OSError:
        return None
    if fields[_STATE_INDEX] == "Z":
        return None
    return ProcessIdentity(
        pid=pid,
        start_ticks=int(fields[_START_TICKS_INDEX]),
        command_line=tuple(os.fsdecode(part) for part in command_line.split(b"\0") if part),
        uid=uid,
    )


def this_process() -> ProcessIdentity:
    """The calling process."""
    identity = identify(os.getpid())
    assert identity is not None, "the calling process runs"
    return identity
