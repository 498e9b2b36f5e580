"""Fault windows: load ``faults.jsonl`` and answer which faults were active at a time."""

from bisect import bisect_right
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

import msgspec

from invariants.model.errors import RunFileError
from invariants.model.records import lines_in_index_order, validation_problem

FaultEventType = Literal["start", "stop"]


@dataclass(frozen=True, slots=True)
class FaultWindow:
    """One fault instance, active on ``[start_ns, stop_ns)`` (nanoseconds since run start).

    ``stop_ns`` is ``None`` when the fault was never stopped: active until the end of the run.
    ``confirmed`` and ``evidence`` come from the stop line (``None`` when never stopped).
    """

    name: str
    fault: str
    target: str
    params: dict
    start_index: int
    start_ns: int
    stop_index: int | None
    stop_ns: int | None
    confirmed: bool | None
    evidence: dict | None

    def active_at(self, time_ns: int) -> bool:
        """Whether this fault was active at ``time_ns``."""
        return self.start_ns <= time_ns and (self.stop_ns is None or time_ns < self.stop_ns)


def load_faults(path: Path) -> list[FaultWindow]:
    """Load and validate ``faults.jsonl``; return one window per fault, in start order.

    >>> windows = load_faults(Path("reports/runs/latest/faults.jsonl"))  # doctest: +SKIP
    """
    with path.open("rb") as lines:
        return _windows(
            (_decode_line(line, f"{path}:{number}") for number, line in enumerate(lines, 1)),
            source=str(path),
        )


def parse_faults(events: Iterable[dict], *, source: str = "faults.jsonl") -> list[FaultWindow]:
    """Validate fault events given in file order and pair starts with stops into windows.

    A stop without a start, a second start or stop of one name, a stop before its start or a
    stop naming another fault kind or target raises :class:`RunFileError` naming the line.
    """
    return _windows(
        (
            _decode_line(_ENCODER.encode(record), f"{source}:{number}")
            for number, record in enumerate(events, start=1)
        ),
        source=source,
    )


def encode_fault_event(
    *,
    index: int,
    time: int,
    type: FaultEventType,
    name: str,
    fault: str,
    target: str,
    params: dict[str, Any],
    confirmed: bool | None,
    evidence: dict[str, Any] | None,
) -> bytes:
    """One line of ``faults.jsonl`` (with its newline), checked against the contract.

    The nemesis records every fault start and stop through here; a start has ``confirmed``
    null, a stop says whether the fault's effect was measured.
    """
    event = _FaultEvent(type, index, time, name, fault, target, params, confirmed, evidence)
    if type == "start" and confirmed is not None:
        raise RunFileError(f"fault event {index}: a start line must have confirmed null")
    return _ENCODER.encode(event) + b"\n"


def encode_faults(windows: Iterable[FaultWindow]) -> Iterator[bytes]:
    """Lines that read back as ``windows`` (start and stop lines in index order)."""
    events = []
    for window in windows:
        start_evidence = window.evidence if window.stop_index is None else None
        events.append(
            _FaultEvent(
                "start",
                window.start_index,
                window.start_ns,
                window.name,
                window.fault,
                window.target,
                window.params,
                None,
                start_evidence,
            )
        )
        if window.stop_index is not None:
            assert window.stop_ns is not None, "a stopped window has a stop time"
            events.append(
                _FaultEvent(
                    "stop",
                    window.stop_index,
                    window.stop_ns,
                    window.name,
                    window.fault,
                    window.target,
                    window.params,
                    window.confirmed,
                    window.evidence,
                )
            )
    yield from lines_in_index_order(events)


def _windows(events: Iterable["_FaultEvent"], *, source: str) -> list[FaultWindow]:
    windows: dict[str, FaultWindow] = {}
    for line_number, event in enumerate(events, start=1):
        where = f"{source}:{line_number}"
        _check_event(event, line_number, where)
        started = windows.get(event.name)
        if event.type == "start":
            if started is not None:
                raise RunFileError(f"{where}: fault {event.name!r} started twice")
            windows[event.name] = _started(event)
        else:
            windows[event.name] = _stopped(started, event, where)
    return list(windows.values())


class FaultTimeline:
    """Answers "which faults were active at time t" in O(log n) per question.

    Built once from the windows: the start and stop times cut the run into segments, each
    holding the names active in it, so a lookup is one bisect even for a million ops.

    >>> timeline = FaultTimeline(windows)  # doctest: +SKIP
    >>> timeline.active_at(2_000_000_000)  # doctest: +SKIP
    ('network-timeout-1',)
    """

    def __init__(self, windows: Iterable[FaultWindow]) -> None:
        starts = sorted(windows, key=lambda window: (window.start_ns, window.start_index))
        stops = sorted(
            (window for window in starts if window.stop_ns is not None),
            key=lambda window: window.stop_ns,
        )
        self._boundaries = sorted(
            {window.start_ns for window in starts} | {window.stop_ns for window in stops}
        )
        self._segments: list[tuple[str, ...]] = []
        # Insertion-ordered, so names come out in start order.
        active: dict[str, None] = {}
        next_start = next_stop = 0
        for boundary in self._boundaries:
            while next_start < len(starts) and starts[next_start].start_ns <= boundary:
                active[starts[next_start].name] = None
                next_start += 1
            while next_stop < len(stops) and stops[next_stop].stop_ns <= boundary:
                del active[stops[next_stop].name]
                next_stop += 1
            self._segments.append(tuple(active))

    def active_at(self, time_ns: int) -> tuple[str, ...]:
        """Names of the faults active at ``time_ns``, in start order."""
        segment = bisect_right(self._boundaries, time_ns) - 1
        if segment < 0:
            return ()
        return self._segments[segment]

    def active_during(self, start_ns: int, end_ns: int | None) -> tuple[str, ...]:
        """Names of the faults active at any time in [start_ns, end_ns] (open-ended if None),
        in start order: what an op met between its invoke and its completion."""
        first = max(bisect_right(self._boundaries, start_ns) - 1, 0)
        last = (
            len(self._segments) - 1
            if end_ns is None
            else bisect_right(self._boundaries, end_ns) - 1
        )
        names: dict[str, None] = dict.fromkeys(self.active_at(start_ns))
        for segment in self._segments[first : last + 1]:
            names.update(dict.fromkeys(segment))
        return tuple(names)


class _FaultEvent(msgspec.Struct):
    type: FaultEventType
    index: int
    time: int
    name: str
    fault: str
    target: str
    params: dict
    confirmed: bool | None
    evidence: dict | None


_DECODER = msgspec.json.Decoder(_FaultEvent)
_ENCODER = msgspec.json.Encoder()


def _decode_line(line: bytes, where: str) -> _FaultEvent:
    try:
        return _DECODER.decode(line)
    except msgspec.ValidationError as error:
        raise validation_problem(error, where) from None
    except msgspec.DecodeError as error:
        raise RunFileError(f"{where}: not valid JSON ({error})") from None


def _check_event(event: _FaultEvent, line_number: int, where: str) -> None:
    if event.index != line_number - 1:
        raise RunFileError(f"{where}: index {event.index} out of order, expected {line_number - 1}")
    if event.time < 0:
        raise RunFileError(f"{where}: time {event.time} is negative")
    if event.type == "start" and event.confirmed is not None:
        raise RunFileError(f"{where}: a start line must have confirmed null")


def _started(start: _FaultEvent) -> FaultWindow:
    # Until its stop line is read, a fault counts as active to the end of the run.
    return FaultWindow(
        name=start.name,
        fault=start.fault,
        target=start.target,
        params=start.params,
        start_index=start.index,
        start_ns=start.time,
        stop_index=None,
        stop_ns=None,
        confirmed=None,
        evidence=start.evidence,
    )


def _stopped(started: FaultWindow | None, stop: _FaultEvent, where: str) -> FaultWindow:
    if started is None:
        raise RunFileError(f"{where}: fault {stop.name!r} stopped without a start")
    if started.stop_index is not None:
        raise RunFileError(f"{where}: fault {stop.name!r} stopped twice")
    if (stop.fault, stop.target) != (started.fault, started.target):
        raise RunFileError(
            f"{where}: stop of {stop.name!r} names ({stop.fault}, {stop.target}), its start at "
            f"index {started.start_index} named ({started.fault}, {started.target})"
        )
    if stop.time < started.start_ns:
        raise RunFileError(f"{where}: fault {stop.name!r} stops before it starts")
    return replace(
        started,
        stop_index=stop.index,
        stop_ns=stop.time,
        confirmed=stop.confirmed,
        evidence=stop.evidence if stop.evidence is not None else started.evidence,
    )
