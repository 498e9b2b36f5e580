"""The operation history: load ``history.jsonl`` and pair each invoke with its completion.

The history is Jepsen-style: an ``invoke`` event, then one completion of the same process,
``ok`` (done), ``fail`` (definitely not done) or ``info`` (indeterminate). A process whose op
ended ``info`` is retired; a retry with the same key is a new invoke by a new process.

A write's invoke may name the logical payment it is an attempt of (``payment``, a string: the
planned write's key). A careless client sends one payment under several keys; a key belongs to
one payment only. Histories written before the field existed leave it out: each key is then its
own payment (:func:`op_payment`).
"""

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import NoneType
from typing import Literal

from invariants.model.errors import RunFileError
from invariants.model.records import Shape, gc_paused, read_jsonl, require_choice, shown

# Write functions: their invoke may carry ``payment``, and their key belongs to one payment.
WRITE_FUNCTIONS = frozenset({"charge", "refund", "payout"})

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


@dataclass(frozen=True)
class _ValueRule:
    """What the value of one (f, type) event must hold: fields, optional fields, choices,
    currency maps."""

    shape: Shape
    choices: Mapping[str, frozenset] = field(default_factory=dict)
    # Fields that map a currency to an integer amount, like a balance's ``available``.
    amounts_by_currency: tuple[str, ...] = ()
    # Fields that may be left out (older histories lack them), with their types when present.
    optional: Mapping[str, type] = field(default_factory=dict)

    def check(self, value: dict, where: str) -> None:
        self.shape.check(value, where)
        for name, kind in self.optional.items():
            if name in value and type(value[name]) is not kind:
                raise RunFileError(
                    f"{where}: field {name!r} must be {_OPTIONAL_KIND_NAMES[kind]} when present, "
                    f"got {shown(value[name])}"
                )
        for name, choices in self.choices.items():
            require_choice(value, name, choices, where)
        for name in self.amounts_by_currency:
            for currency, amount in value[name].items():
                if type(amount) is not int:
                    raise RunFileError(
                        f"{where}: field {name!r} must map currencies to integers, got "
                        f"{currency!r}: {shown(amount)}"
                    )


_OPTIONAL_KIND_NAMES = {str: "a string"}
# The logical payment a write's attempt belongs to (module docstring).
_PAYMENT = {"payment": str}
assert set(_PAYMENT.values()) <= set(_OPTIONAL_KIND_NAMES)

# An info, and a fail of a read, says only how the request ended.
_HTTP_STATUS = _ValueRule(Shape(http_status=int))

# The value of each event, by (f, type) (DESIGN.md, history contract). Writes (charge, refund,
# payout) are keyed by their idempotency key; a read is keyed by the key of the write it reads
# back; a balance read by a key of its own.
_VALUE_RULES: dict[tuple[str, str], _ValueRule] = {
    ("charge", "invoke"): _ValueRule(
        Shape(merchant=str, amount=int, currency=str, card=str, attempt=int), optional=_PAYMENT
    ),
    ("charge", "ok"): _ValueRule(Shape(charge_id=str, status=str, amount=int, replayed=bool)),
    ("charge", "fail"): _ValueRule(
        Shape(charge_id=(str, NoneType), status=(str, NoneType), http_status=int)
    ),
    ("charge", "info"): _HTTP_STATUS,
    ("refund", "invoke"): _ValueRule(
        # A null amount refunds what remains of the charge.
        Shape(merchant=str, charge_id=str, amount=(int, NoneType), currency=str, attempt=int),
        optional=_PAYMENT,
    ),
    ("refund", "ok"): _ValueRule(
        Shape(refund_id=str, charge_id=str, status=str, amount=int, replayed=bool),
        choices={"status": frozenset({"succeeded"})},
    ),
    ("refund", "fail"): _ValueRule(
        Shape(refund_id=(str, NoneType), status=(str, NoneType), http_status=int)
    ),
    ("refund", "info"): _HTTP_STATUS,
    ("payout", "invoke"): _ValueRule(
        Shape(merchant=str, amount=int, currency=str, attempt=int), optional=_PAYMENT
    ),
    ("payout", "ok"): _ValueRule(
        Shape(payout_id=str, status=str, amount=int, replayed=bool),
        choices={"status": frozenset({"paid"})},
    ),
    ("payout", "fail"): _ValueRule(
        Shape(payout_id=(str, NoneType), status=(str, NoneType), http_status=int)
    ),
    ("payout", "info"): _HTTP_STATUS,
    ("read", "invoke"): _ValueRule(
        Shape(merchant=str, object=str, id=str),
        choices={"object": frozenset({"charge", "refund", "payout"})},
    ),
    ("read", "ok"): _ValueRule(Shape(id=str, status=str, amount=int)),
    ("read", "fail"): _HTTP_STATUS,
    ("read", "info"): _HTTP_STATUS,
    ("balance", "invoke"): _ValueRule(Shape(merchant=str)),
    ("balance", "ok"): _ValueRule(
        Shape(available=dict, pending=dict), amounts_by_currency=("available", "pending")
    ),
    ("balance", "fail"): _HTTP_STATUS,
    ("balance", "info"): _HTTP_STATUS,
}
HISTORY_FUNCTIONS = frozenset(f for f, _ in _VALUE_RULES)
# Every function has a rule for every event type, so no event goes unchecked.
assert set(_VALUE_RULES) == {(f, t) for f in HISTORY_FUNCTIONS for t in EVENT_TYPES}
assert WRITE_FUNCTIONS <= HISTORY_FUNCTIONS
# Only a write's invoke names a payment.
assert all(
    bool(rule.optional) == (t == "invoke" and f in WRITE_FUNCTIONS)
    for (f, t), rule in _VALUE_RULES.items()
)


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
    ...     {"index": 0, "time": 5, "process": 0, "type": "invoke", "f": "balance", "key": "b1",
    ...      "value": {"merchant": "acct_1"}, "error": None},
    ...     {"index": 1, "time": 9, "process": 0, "type": "ok", "f": "balance", "key": "b1",
    ...      "value": {"available": {"usd": 500}, "pending": {}}, "error": None}])]
    ['ok']
    """
    pairing = _Pairing(source)
    with gc_paused():
        for line_number, event in enumerate(events, start=1):
            pairing.add(line_number, event)
        return list(pairing.finish())


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
        # (f, merchant, key) of each write -> its payment and the index of the invoke naming it.
        self._payments: dict[tuple[str, str, str], tuple[str, int]] = {}

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
        require_choice(event, "f", HISTORY_FUNCTIONS, where)
        _check_value(f, event_type, value, where)
        if event_type == "invoke":
            self._invoke(_Invoke(len(self._slots), process, f, key, index, time, value), where)
            if f in WRITE_FUNCTIONS:
                assert value is not None, "a write invoke carries a value (checked above)"
                self._one_payment_per_key(f, key, value, index, where)
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

    def _one_payment_per_key(self, f: str, key: str, value: dict, index: int, where: str) -> None:
        payment = value.get("payment", key)
        first = self._payments.setdefault((f, value["merchant"], key), (payment, index))
        if first[0] != payment:
            raise RunFileError(
                f"{where}: {f} key {key!r} names payment {payment!r}, but the invoke at index "
                f"{first[1]} named payment {first[0]!r}: a key belongs to one payment"
            )

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


def _check_value(f: str, event_type: str, value: dict | None, where: str) -> None:
    # An info may carry no value at all (a timeout has no HTTP status); every other event
    # carries the fields the checkers join on.
    if value is None and event_type == "info":
        return
    if value is None:
        raise RunFileError(f"{where}: a {f} {event_type} must carry a value object")
    _VALUE_RULES[(f, event_type)].check(value, f"{where}: value")
