"""Append-only JSONL logs (history.jsonl, faults.jsonl) on one run clock."""

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


class RunClock:
    """Nanoseconds since the run started, monotonic, shared by every log of the run."""

    def __init__(self) -> None:
        self._start_ns = time.monotonic_ns()

    def now_ns(self) -> int:
        return time.monotonic_ns() - self._start_ns

    def now_s(self) -> float:
        return self.now_ns() / 1e9


class EventLog:
    """A JSONL file written line by line as the run goes, so a crash keeps what happened.

    Each record gets the next `index` and the run clock's `time`, and becomes a line through
    `encode`, the run-file model's encoder of that file (`invariants.model`), which checks it
    against the contract the checkers read it by; lines are flushed to the operating system as
    they are written.
    """

    def __init__(self, path: Path, clock: RunClock, encode: Callable[..., bytes]) -> None:
        self.path = path
        self._clock = clock
        self._encode = encode
        self._file = open(path, "xb")  # noqa: SIM115 - closed by close()
        self._next_index = 0

    def append(self, record: dict[str, Any]) -> dict[str, Any]:
        """Write one record with its index and time; returns the written record."""
        line = {"index": self._next_index, "time": self._clock.now_ns(), **record}
        self._file.write(self._encode(**line))
        self._file.flush()
        self._next_index += 1
        return line

    def close(self) -> None:
        """Flush to disk and close; safe to call twice."""
        if not self._file.closed:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
