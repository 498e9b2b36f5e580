"""Atomic file writes: a reader sees the old file or the whole new one, never half of it."""

import os
import tempfile
from contextlib import suppress
from pathlib import Path

# Run files are read by people and CI jobs other than the writer; mkstemp would leave 0600.
_FILE_MODE = 0o644


def write_atomic(path: Path, data: str | bytes) -> None:
    """Write ``data`` (text is UTF-8 encoded) to ``path`` via a temp file and ``os.replace``.

    The temp file lives next to ``path`` (same file system, so the rename is atomic) and is
    removed if anything fails, so a crash or an exception leaves no half-written file.

    >>> write_atomic(Path("reports/runs/r1/summary.md"), "# valid\\n")  # doctest: +SKIP
    """
    payload = data.encode("utf-8") if isinstance(data, str) else data
    descriptor, temp_name = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"
    )
    try:
        with os.fdopen(descriptor, "wb") as temp:
            temp.write(payload)
            temp.flush()
            os.fsync(temp.fileno())
        os.chmod(temp_name, _FILE_MODE)
        os.replace(temp_name, path)
    except BaseException:
        with suppress(FileNotFoundError):
            os.unlink(temp_name)
        raise
    _fsync_directory(path.parent)


def _fsync_directory(directory: Path) -> None:
    # The rename itself is only durable once the directory entry is on disk.
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
