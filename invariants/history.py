"""The operation history: load ``history.jsonl`` and pair each invoke with its completion.

The history is Jepsen-style: an ``invoke`` event, then one completion of the same process,
``ok`` (done), ``fail`` (definitely not done) or ``info`` (indeterminate). A process whose op
ended ``info`` is retired; a retry with the same key is a new invoke by a new process.
"""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import NoneType
from typing import Literal

from invariants.errors import RunFileError
from invariants.records import Shape, gc_paused, read_jsonl, require_choice

OpType = Literal["ok", "fail", "info"]

EVENT_TYPES = frozenset({"invoke", "ok", "fail", "info"})

_EVENT_SHAPE = Shape(
    index=int,
    time=int,
    process=int,
    type=str,
    f=str,
    key=str,
    value=(dict, NoneType),
    error=(str, NoneType),
)

# The value of each charge event (DESIGN.md, history contract). Other functions' values are
# only checked to be an object or null here: their checkers own their shape.
_CHARGE_VALUE_SHAPES = {
    "invoke": Shape(merchant=str, amount=int, currency=str, card=str, attempt=int),
    "ok": Shape(charge_id=str, status=str, amount=int, replayed=bool),
    "fail": Shape(charge_id=(str, NoneType), status=(str, NoneType), http_status=int),
    "info": Shape(http_status=int),
}


@dataclass(frozen=True, slots=True)
class Op:
    """One operation: an invoke paired with its completion.

    ``type`` is the completion's type; an invoke never completed by the end of the history is
    an ``info`` op whose ``completion_index``, ``completion_time`` and ``completion_value`` are
    ``None``. Times are nanoseconds since run start.
    """

    process: int
    f: str
    key: str
    type: OpType
    invoke_index: int
    invoke_time: int
    invoke_value: dict | None
    completion_index: int | None
    completion_time: int | None
    completion_value: dict | None
    error: str | None

    @property
    def completed(self) -> bool:
        """Whether a completion event was recorded for this op."""
        return self.completion_index is not None


def load_history(path: Path) -> list[Op]:
    """Load and validate ``history.jsonl``; return its ops in invoke order.

    A malformed line or a broken precondition (index out of order, a completion without an
    invoke, a retired process invoking again) raises :class:`RunFileError` naming the line.

    >>> ops = load_history(Path("reports/runs/latest/history.jsonl"))  # doctest: +SKIP
    """
    return parse_history((record for _, record in read_jsonl(path)), source=str(path))


def parse_history(events: Iterable[dict], *, source: str = "history.jsonl") -> list[Op]:
    """Validate history events given in file order and pair them into ops (invoke order).

    ``source`` names the events in error messages, as ``source:line``.

    >>> [op.type for op in parse_history([
    ...     {"index": 0, "time": 5, "process": 0, "type": "invoke", "f": "read", "key": "k",
    ...      "value": None, "error": None},
    ...     {"index": 1, "time": 9, "process": 0, "type": "ok", "f": "read", "key": "k",
    ...      "value": None, "error": None}])]
    ['ok']
    """
    pairing = _Pairing(source)
    with gc_paused():
        for line_number, event in enumerate(events, start=1):
            pairing.add(line_number, event)
        return list(pairing.finish())


def ops_by_key(ops: Iterable[Op]) -> dict[str, list[Op]]:
    """Group ops by idempotency key, each group in invoke order (the order of ``ops``)."""
    groups: dict[str, list[Op]] = {}
    for op in ops:
        groups.setdefault(op.key, []).append(op)
    return groups


@dataclass(frozen=True, slots=True)
class _Invoke:
    slot: int
    process: int
    f: str
    key: str
    index: int
    time: int
    value: dict | None


class _Pairing:
    """Pairs completions with invokes while checking the history's preconditions."""

    def __init__(self, source: str) -> None:
        self._source = source
        # One slot per invoke, filled when its completion arrives, so ops stay in invoke order.
        self._slots: list[Op | None] = []
        self._outstanding: dict[int, _Invoke] = {}
        # Process -> index of the info completion that retired it.
        self._retired: dict[int, int] = {}

    def add(self, line_number: int, event: dict) -> None:
        where = f"{self._source}:{line_number}"
        _EVENT_SHAPE.check(event, where)
        require_choice(event, "type", EVENT_TYPES, where)
        index, time, process = event["index"], event["time"], event["process"]
        event_type, f, key = event["type"], event["f"], event["key"]
        value, error = event["value"], event["error"]
        if index != line_number - 1:
            raise RunFileError(f"{where}: index {index} out of order, expected {line_number - 1}")
        if time < 0:
            raise RunFileError(f"{where}: time {time} is negative")
        if f == "charge":
            _check_charge_value(event_type, value, where)
        if event_type == "invoke":
            self._invoke(_Invoke(len(self._slots), process, f, key, index, time, value), where)
            return
        if event_type == "fail" and error is None:
            raise RunFileError(f"{where}: a fail must name its error")
        invoke = self._outstanding.pop(process, None)
        if invoke is None:
            raise RunFileError(f"{where}: {event_type} of process {process} has no prior invoke")
        if (f, key) != (invoke.f, invoke.key):
            raise RunFileError(
                f"{where}: completion ({f}, {key!r}) does not match the invoke at index "
                f"{invoke.index} ({invoke.f}, {invoke.key!r}) of process {process}"
            )
        if event_type == "info":
            self._retired[process] = index
        self._slots[invoke.slot] = _op(invoke, event_type, index, time, value, error)

    def finish(self) -> Iterator[Op]:
        # An invoke never completed may or may not have happened: it counts as info.
        for invoke in self._outstanding.values():
            self._slots[invoke.slot] = _op(invoke, "info", None, None, None, None)
        self._outstanding.clear()
        for op in self._slots:
            assert op is not None, "every slot is filled by a completion or by finish()"
            yield op

    def _invoke(self, invoke: _Invoke, where: str) -> None:
        outstanding = self._outstanding.get(invoke.process)
        if outstanding is not None:
            raise RunFileError(
                f"{where}: process {invoke.process} invokes while its op invoked at index "
                f"{outstanding.index} is outstanding"
            )
        retired_at = self._retired.get(invoke.process)
        if retired_at is not None:
            raise RunFileError(
                f"{where}: process {invoke.process} was retired by the info at index "
                f"{retired_at}; a retry must use a new process"
            )
        self._outstanding[invoke.process] = invoke
        self._slots.append(None)


def _op(
    invoke: _Invoke,
    op_type: OpType,
    completion_index: int | None,
    completion_time: int | None,
    completion_value: dict | None,
    error: str | None,
) -> Op:
    return Op(
        process=invoke.process,
        f=invoke.f,
        key=invoke.key,
        type=op_type,
        invoke_index=invoke.index,
        invoke_time=invoke.time,
        invoke_value=invoke.value,
        completion_index=completion_index,
        completion_time=completion_time,
        completion_value=completion_value,
        error=error,
    )


def _check_charge_value(event_type: str, value: dict | None, where: str) -> None:
    # An info may carry no value at all (a timeout has no HTTP status); every other charge
    # event carries the fields the checkers join on.
    if value is None and event_type == "info":
        return
    if value is None:
        raise RunFileError(f"{where}: a charge {event_type} must carry a value object")
    _CHARGE_VALUE_SHAPES[event_type].check(value, f"{where}: value")
