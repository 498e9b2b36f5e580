"""The operation history: load ``history.jsonl`` and pair each invoke with its completion.

The history is Jepsen-style: an ``invoke`` event, then one completion of the same process,
``ok`` (done), ``fail`` (definitely not done) or ``info`` (indeterminate). A process whose op
ended ``info`` is retired; a retry with the same key is a new invoke by a new process.

A write's invoke may name the logical payment it is an attempt of (``payment``, a string: the
planned write's key). A careless client sends one payment under several keys; a key belongs to
one payment only. Histories written before the field existed leave it out: each key is then its
own payment (:func:`op_payment`).
"""

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, Literal

import msgspec

from invariants.model.errors import RunFileError
from invariants.model.history_values import (
    VALUE_TYPES,
    WRITE_FUNCTIONS,
    HistoryFunction,
    Value,
)
from invariants.model.records import gc_paused, lines_in_index_order, validation_problem

OpType = Literal["ok", "fail", "info"]
EventType = Literal["invoke", "ok", "fail", "info"]


class _Envelope(msgspec.Struct, gc=False):
    """One line of the history as read: the value still undecoded, to decode by (f, type)."""

    index: int
    time: int
    process: int
    type: EventType
    f: HistoryFunction
    key: str
    value: msgspec.Raw
    error: str | None


class _Event(msgspec.Struct, gc=False):
    """One history event with its value checked against its (f, type)'s type."""

    index: int
    time: int
    process: int
    type: EventType
    f: str
    key: str
    # A decoded Value, or the dict a writer hands in (checked before it is written).
    value: Any
    error: str | None


_ENVELOPE_DECODER = msgspec.json.Decoder(_Envelope)
_VALUE_DECODERS = {
    f_type: msgspec.json.Decoder(value_type | None) for f_type, value_type in VALUE_TYPES.items()
}
_ENCODER = msgspec.json.Encoder()


class Op(msgspec.Struct, frozen=True, gc=False):
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
    invoke_value: Value | None
    completion_index: int | None
    completion_time: int | None
    completion_value: Value | None
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
    pairing = _Pairing(str(path))
    with gc_paused(), path.open("rb") as lines:
        for line_number, line in enumerate(lines, start=1):
            pairing.add(line_number, _decode_line(line, pairing.source, line_number))
        return list(pairing.finish())


def parse_history(events: Iterable[dict], *, source: str = "history.jsonl") -> list[Op]:
    """Validate history events given in file order and pair them into ops (invoke order).

    ``source`` names the events in error messages, as ``source:line``.

    >>> [op.type for op in parse_history([
    ...     {"index": 0, "time": 5, "process": 0, "type": "invoke", "f": "balance", "key": "b1",
    ...      "value": {"merchant": "acct_1"}, "error": None},
    ...     {"index": 1, "time": 9, "process": 0, "type": "ok", "f": "balance", "key": "b1",
    ...      "value": {"available": {"usd": 500}, "pending": {}}, "error": None}])]
    ['ok']
    """
    pairing = _Pairing(source)
    with gc_paused():
        for line_number, record in enumerate(events, start=1):
            if type(record) is not dict:
                raise RunFileError(f"{source}:{line_number}: expected a JSON object")
            # Through JSON, so that a record is held to exactly what a line of the file is.
            pairing.add(line_number, _decode_line(_ENCODER.encode(record), source, line_number))
        return list(pairing.finish())


def encode_event(
    *,
    index: int,
    time: int,
    process: int,
    type: EventType,
    f: str,
    key: str,
    value: dict[str, Any] | None,
    error: str | None,
) -> bytes:
    """One line of ``history.jsonl`` (with its newline), checked against the contract.

    Writers build every history line here, so that what the checkers read is what was
    written; a value that breaks the contract raises :class:`RunFileError` before it is
    written.

    >>> encode_event(index=0, time=5, process=0, type="invoke", f="balance", key="b1",
    ...              value={"merchant": "acct_1"}, error=None)[:44]
    b'{"index":0,"time":5,"process":0,"type":"invo'
    """
    line = _ENCODER.encode(_Event(index, time, process, type, f, key, value, error)) + b"\n"
    _decode_line(line, "history event", index)
    return line


def encode_history(ops: Iterable[Op]) -> Iterator[bytes]:
    """The lines of the history ``ops`` were read from, in index order (the inverse of
    :func:`parse_history`)."""
    events = []
    for op in ops:
        events.append(
            _Event(
                op.invoke_index,
                op.invoke_time,
                op.process,
                "invoke",
                op.f,
                op.key,
                op.invoke_value,
                None,
            )
        )
        if op.completion_index is not None:
            assert op.completion_time is not None, "a completion has a time"
            events.append(
                _Event(
                    op.completion_index,
                    op.completion_time,
                    op.process,
                    op.type,
                    op.f,
                    op.key,
                    op.completion_value,
                    op.error,
                )
            )
    yield from lines_in_index_order(events)


def _decode_line(line: bytes, source: str, line_number: int) -> _Event:
    # ``source:line_number`` is only spelled out for an error: a million lines have none.
    try:
        envelope = _ENVELOPE_DECODER.decode(line)
    except msgspec.ValidationError as error:
        raise validation_problem(error, f"{source}:{line_number}") from None
    except msgspec.DecodeError as error:
        raise RunFileError(f"{source}:{line_number}: not valid JSON ({error})") from None
    f, event_type = envelope.f, envelope.type
    try:
        value = _VALUE_DECODERS[(f, event_type)].decode(envelope.value)
    except msgspec.ValidationError as error:
        raise validation_problem(error, f"{source}:{line_number}: value") from None
    # An info may carry no value at all (a timeout has no HTTP status); every other event
    # carries the fields the checkers join on.
    if value is None and event_type != "info":
        raise RunFileError(f"{source}:{line_number}: a {f} {event_type} must carry a value object")
    return _Event(
        envelope.index,
        envelope.time,
        envelope.process,
        event_type,
        f,
        envelope.key,
        value,
        envelope.error,
    )


def op_payment(op: Op) -> str:
    """The logical payment an op is an attempt of: its invoke's ``payment``, else its key.

    >>> op_payment(parse_history([{"index": 0, "time": 5, "process": 0, "type": "invoke",
    ...     "f": "payout", "key": "k-a2", "error": None, "value": {"merchant": "acct_1",
    ...     "amount": 5, "currency": "usd", "attempt": 2, "payment": "k"}}])[0])
    'k'
    """
    if op.invoke_value is None:
        return op.key
    return op.invoke_value.get("payment", op.key)


def ops_by_key(ops: Iterable[Op]) -> dict[str, list[Op]]:
    """Group ops by idempotency key, each group in invoke order (the order of ``ops``)."""
    groups: dict[str, list[Op]] = {}
    for op in ops:
        groups.setdefault(op.key, []).append(op)
    return groups


class _Invoke(msgspec.Struct, frozen=True, gc=False):
    slot: int
    process: int
    f: str
    key: str
    index: int
    time: int
    value: Value | None


class _Pairing:
    """Pairs completions with invokes while checking the history's preconditions."""

    def __init__(self, source: str) -> None:
        self.source = source
        # One slot per invoke, filled when its completion arrives, so ops stay in invoke order.
        self._slots: list[Op | None] = []
        self._outstanding: dict[int, _Invoke] = {}
        # Process -> index of the info completion that retired it.
        self._retired: dict[int, int] = {}
        # (f, merchant, key) of each write -> its payment and the index of the invoke naming it.
        self._payments: dict[tuple[str, str, str], tuple[str, int]] = {}

    def add(self, line_number: int, event: _Event) -> None:
        index, time, process = event.index, event.time, event.process
        event_type, f, key, value, error = event.type, event.f, event.key, event.value, event.error
        if index != line_number - 1 or time < 0:
            where = f"{self.source}:{line_number}"
            if time < 0:
                raise RunFileError(f"{where}: time {time} is negative")
            raise RunFileError(f"{where}: index {index} out of order, expected {line_number - 1}")
        if event_type == "invoke":
            self._invoke(
                _Invoke(len(self._slots), process, f, key, index, time, value), line_number
            )
            if f in WRITE_FUNCTIONS:
                assert value is not None, "a write invoke carries a value (checked above)"
                self._one_payment_per_key(f, key, value, index, line_number)
            return
        where = f"{self.source}:{line_number}"
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

    def _one_payment_per_key(
        self, f: str, key: str, value: Value, index: int, line_number: int
    ) -> None:
        payment = value.get("payment", key)
        first = self._payments.setdefault((f, value["merchant"], key), (payment, index))
        if first[0] != payment:
            raise RunFileError(
                f"{self.source}:{line_number}: {f} key {key!r} names payment {payment!r}, "
                f"but the invoke at index "
                f"{first[1]} named payment {first[0]!r}: a key belongs to one payment"
            )

    def _invoke(self, invoke: _Invoke, line_number: int) -> None:
        refusal = self._refusal(invoke.process)
        if refusal is not None:
            raise RunFileError(f"{self.source}:{line_number}: process {invoke.process} {refusal}")
        self._outstanding[invoke.process] = invoke
        self._slots.append(None)

    def _refusal(self, process: int) -> str | None:
        """Why ``process`` may not invoke now, or None when it may."""
        outstanding = self._outstanding.get(process)
        if outstanding is not None:
            return f"invokes while its op invoked at index {outstanding.index} is outstanding"
        retired_at = self._retired.get(process)
        if retired_at is not None:
            return f"was retired by the info at index {retired_at}; a retry must use a new process"
        return None


def _op(
    invoke: _Invoke,
    op_type: OpType,
    completion_index: int | None,
    completion_time: int | None,
    completion_value: Value | None,
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
