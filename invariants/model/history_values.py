"""What the ``value`` of each history event holds, by function and event type.

The DESIGN.md history contract, as types: msgspec checks a value against them in C while it
decodes it (a million-line history is read in seconds), and the writers check theirs against
the same types before a line is written. Fields not named here are dropped on read: a writer
may add fields before the checkers read them.
"""

from typing import Literal, NotRequired, TypedDict, get_args

# Write functions: their invoke may carry ``payment``, and their key belongs to one payment.
WRITE_FUNCTIONS = frozenset({"charge", "refund", "payout"})
EVENT_TYPES = frozenset({"invoke", "ok", "fail", "info"})
ObjectKind = Literal["charge", "refund", "payout"]
# A Literal, so that msgspec checks it and hands back one string object for every op.
HistoryFunction = Literal["charge", "refund", "payout", "read", "balance"]


class HttpStatus(TypedDict):
    """An info, and a fail of a read, says only how the request ended."""

    http_status: int


class ChargeInvoke(TypedDict):
    merchant: str
    amount: int
    currency: str
    card: str
    attempt: int
    # The logical payment this attempt belongs to (history module docstring).
    payment: NotRequired[str]


class ChargeOk(TypedDict):
    charge_id: str
    status: str
    amount: int
    replayed: bool


class ChargeFail(TypedDict):
    charge_id: str | None
    status: str | None
    http_status: int


class RefundInvoke(TypedDict):
    merchant: str
    charge_id: str
    # Null refunds what remains of the charge.
    amount: int | None
    currency: str
    attempt: int
    payment: NotRequired[str]


class RefundOk(TypedDict):
    refund_id: str
    charge_id: str
    status: Literal["succeeded"]
    amount: int
    replayed: bool


class RefundFail(TypedDict):
    refund_id: str | None
    status: str | None
    http_status: int


class PayoutInvoke(TypedDict):
    merchant: str
    amount: int
    currency: str
    attempt: int
    payment: NotRequired[str]


class PayoutOk(TypedDict):
    payout_id: str
    status: Literal["paid"]
    amount: int
    replayed: bool


class PayoutFail(TypedDict):
    payout_id: str | None
    status: str | None
    http_status: int


class ReadInvoke(TypedDict):
    merchant: str
    object: ObjectKind
    id: str


class ReadOk(TypedDict):
    id: str
    status: str
    amount: int


class BalanceInvoke(TypedDict):
    merchant: str


class BalanceOk(TypedDict):
    # Currency -> amount in minor units.
    available: dict[str, int]
    pending: dict[str, int]


# Writes (charge, refund, payout) are keyed by their idempotency key; a read is keyed by the
# key of the write it reads back; a balance read by a key of its own.
VALUE_TYPES: dict[tuple[str, str], type] = {
    ("charge", "invoke"): ChargeInvoke,
    ("charge", "ok"): ChargeOk,
    ("charge", "fail"): ChargeFail,
    ("charge", "info"): HttpStatus,
    ("refund", "invoke"): RefundInvoke,
    ("refund", "ok"): RefundOk,
    ("refund", "fail"): RefundFail,
    ("refund", "info"): HttpStatus,
    ("payout", "invoke"): PayoutInvoke,
    ("payout", "ok"): PayoutOk,
    ("payout", "fail"): PayoutFail,
    ("payout", "info"): HttpStatus,
    ("read", "invoke"): ReadInvoke,
    ("read", "ok"): ReadOk,
    ("read", "fail"): HttpStatus,
    ("read", "info"): HttpStatus,
    ("balance", "invoke"): BalanceInvoke,
    ("balance", "ok"): BalanceOk,
    ("balance", "fail"): HttpStatus,
    ("balance", "info"): HttpStatus,
}
HISTORY_FUNCTIONS = frozenset(get_args(HistoryFunction))
assert {f for f, _ in VALUE_TYPES} == HISTORY_FUNCTIONS
# Every function has a type for every event type, so no event goes unchecked.
assert set(VALUE_TYPES) == {(f, t) for f in HISTORY_FUNCTIONS for t in EVENT_TYPES}
assert WRITE_FUNCTIONS <= HISTORY_FUNCTIONS
