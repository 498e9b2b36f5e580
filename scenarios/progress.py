"""What long commands (`campaign`, `mutants`) show while they work: a rich progress bar when
stderr is a terminal, one plain line per finished run otherwise, nothing under --quiet."""

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol, TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)


class RunProgress(Protocol):
    """Told when a run starts and when it has finished."""

    def start(self, label: str) -> None:
        """A run named `label` (e.g. `baseline seed 7`) starts."""

    def done(self, line: str) -> None:
        """A run finished; `line` says how it ended."""


class QuietProgress:
    """Shows nothing (--quiet: CI reads the final verdict line only)."""

    def start(self, label: str) -> None:
        """Nothing to show."""

    def done(self, line: str) -> None:
        """Nothing to show."""


class LineProgress:
    """One line per finished run on stdout, for logs and pipes."""

    def start(self, label: str) -> None:
        """A log has no use for a line that only says a run started."""

    def done(self, line: str) -> None:
        """Print the finished run's line at once, so a log shows it while the next runs."""
        print(line, flush=True)


class BarProgress:
    """A progress bar (runs done / total, the current run) on a terminal; each finished run's
    line is printed above the bar."""

    def __init__(self, progress: Progress, total: int, what: str) -> None:
        self._progress = progress
        self._what = what
        self._task = progress.add_task(what, total=total)

    def start(self, label: str) -> None:
        """Name the current run beside the bar."""
        self._progress.update(self._task, description=f"{self._what}: {label}")

    def done(self, line: str) -> None:
        """Print the run's line above the bar and advance it."""
        # A scenario name or an error message may hold brackets: no rich markup.
        self._progress.console.print(line, markup=False, highlight=False)
        self._progress.advance(self._task)


@contextmanager
def run_progress(
    total: int, what: str, *, quiet: bool, stream: TextIO | None = None
) -> Iterator[RunProgress]:
    """The display for `total` runs: none when `quiet`, a bar when `stream` (stderr by
    default) is a terminal, else plain lines on stdout."""
    stream = stream or sys.stderr
    if quiet:
        yield QuietProgress()
        return
    if not stream.isatty():
        yield LineProgress()
        return
    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(file=stream),
        # Logging and prints keep their own streams; only the bar is redrawn.
        redirect_stdout=False,
        redirect_stderr=False,
    )
    with bar:
        yield BarProgress(bar, total, what)
