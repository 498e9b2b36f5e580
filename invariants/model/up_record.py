"""``up.json`` in the runs root: which process keeps a topology up (``paychaos up``), as
``paychaos down`` checks it before it signals anything.

A pid alone proves nothing once its process has exited: the kernel gives the number to the
next process. The record therefore keeps what makes a process unique for as long as the
machine runs: its start time (clock ticks after boot, field 22 of ``/proc/PID/stat``) and
its command line.
"""

from pathlib import Path
from typing import Annotated

import msgspec

from invariants.model.records import encode_document, load_document


class UpRecord(msgspec.Struct, frozen=True, kw_only=True):
    """The `up` process of a runs root and the run directory of its topology."""

    pid: Annotated[int, msgspec.Meta(gt=0)]
    start_ticks: Annotated[int, msgspec.Meta(ge=0)]
    command_line: Annotated[tuple[str, ...], msgspec.Meta(min_length=1)]
    run_dir: str


def encode_up_record(record: UpRecord) -> bytes:
    """``up.json`` as written: what :func:`load_up_record` reads back."""
    return encode_document(record)


def load_up_record(path: Path) -> UpRecord:
    """Load and validate ``up.json``; errors name the file and the field.

    >>> load_up_record(Path("reports/runs/up.json")).pid  # doctest: +SKIP
    4242
    """
    return load_document(path, _DECODER)


_DECODER = msgspec.json.Decoder(UpRecord)
