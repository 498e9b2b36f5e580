"""Who listens on a loopback port, read from /proc (Linux): the identity check of a service's
listeners. A port answering proves nothing about whose it is; the socket's owner does, for
every kind of service alike (PostgreSQL included), without asking the service anything."""

import os
from pathlib import Path

_PROC = Path("/proc")
_TCP_TABLES = (_PROC / "net" / "tcp", _PROC / "net" / "tcp6")
_LISTEN_STATE = "0A"


def listening_sockets(port: int) -> set[int]:
    """The inodes of every TCP socket that listens on `port` (any local address).

    Any address counts: a listener on 0.0.0.0 or :: takes connections to 127.0.0.1 too.
    """
    inodes = set()
    for table in _TCP_TABLES:
        try:
            lines = table.read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            local_port = int(fields[1].rpartition(":")[2], 16)
            if local_port == port and fields[3] == _LISTEN_STATE:
                inodes.add(int(fields[9]))
    return inodes


def group_sockets(group_id: int) -> set[int]:
    """The inodes of the sockets that the processes of process group `group_id` hold.

    A service runs in its own session, so its group is the service with its children (the
    API's extra processes, PostgreSQL's backends).
    """
    inodes = set()
    for process in _PROC.iterdir():
        if process.name.isdigit() and _process_group(process) == group_id:
            inodes |= _sockets_of(process)
    return inodes


def _process_group(process: Path) -> int | None:
    try:
        status = (process / "stat").read_text()
    except OSError:
        return None
    # After the parenthesised command: state, parent id, process group id.
    return int(status.rpartition(")")[2].split()[2])


def _sockets_of(process: Path) -> set[int]:
    inodes = set()
    try:
        descriptors = list((process / "fd").iterdir())
    except OSError:
        return inodes
    for descriptor in descriptors:
        try:
            target = os.readlink(descriptor)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(int(target[len("socket:[") : -1]))
    return inodes
