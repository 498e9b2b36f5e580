"""What the ``value`` of each history event holds, by function and event type.

The DESIGN.md history contract, as types: msgspec checks a value against them in C while it
decodes it (a million-line history is read in seconds), and the writers check theirs against
the same types before a line is written. Fields not named here are dropped on read: a writer
may add fields before the checkers read them.

A value is read as the JSON object it was (``value["amount"]``, ``value.get("payment")``), but
held as a struct: a third of a dict's memory, which a million-op history feels.
"""

from collections.abc import Iterator
from typing import Any, Literal, get_args

import msgspec
from msgspec import UNSET, UnsetType

# Write functions: their invoke may carry ``payment``, and their key belongs to one payment.
WRITE_FUNCTIONS = frozenset({"charge", "refund", "payout"})
EVENT_TYPES = frozenset({"invoke", "ok", "fail", "info"})
ObjectKind = Literal["charge", "refund", "payout"]
# A Literal, so that msgspec checks it and hands back one string object for every op.
HistoryFunction = Literal["charge", "refund", "payout", "read", "balance"]


class Value(msgspec.Struct, frozen=True, gc=False, omit_defaults=True):
    """A history value, read like the JSON object it was; an unset optional field is absent."""

    def __getitem__(self, name: str) -> Any:
        try:
            found = getattr(self, name)
        except AttributeError:
            raise KeyError(name) from None
        # No field of the contract is callable: a callable is a method, not a field.
        if found is UNSET or callable(found):
            raise KeyError(name)
        return found

    def get(self, name: str, default: Any = None) -> Any:
        """The field's value, or ``default`` when it is not a field or not set."""
        found = getattr(self, name, default)
        return default if found is UNSET or callable(found) else found

    def __contains__(self, name: object) -> bool:
        return name in self.__struct_fields__ and getattr(self, name) is not UNSET

    def items(self) -> Iterator[tuple[str, Any]]:
        """The set fields and their values, in declaration order."""
        for name in self.__struct_fields__:
            found = getattr(self, name)
            if found is not UNSET:
                yield name, found


class HttpStatus(Value):
    """An info, and a fail of a read, says only how the request ended."""

    http_status: int


class ChargeInvoke(Value):
    merchant: str
    amount: int
    currency: str
    card: str
    attempt: int
    # The logical payment this attempt belongs to (history module docstring).
    payment: str | UnsetType = UNSET


class ChargeOk(Value):
    charge_id: str
    status: str
    amount: int
    replayed: bool


class ChargeFail(Value):
    charge_id: str | None
    status: str | None
    http_status: int


class RefundInvoke(Value):
    merchant: str
    charge_id: str
    # Null refunds what remains of the charge.
    amount: int | None
    currency: str
    attempt: int
    payment: str | UnsetType = UNSET


class RefundOk(Value):
    refund_id: str
    charge_id: str
    status: Literal["succeeded"]
    amount: int
    replayed: bool


class RefundFail(Value):
    refund_id: str | None
    status: str | None
    http_status: int


class PayoutInvoke(Value):
    merchant: str
    amount: int
    currency: str
    attempt: int
    payment: str | UnsetType = UNSET


class PayoutOk(Value):
    payout_id: str
    status: Literal["paid"]
    amount: int
    replayed: bool


class PayoutFail(Value):
    payout_id: str | None
    status: str | None
    http_status: int


class ReadInvoke(Value):
    merchant: str
    object: ObjectKind
    id: str


class ReadOk(Value):
    id: str
    status: str
    amount: int


class BalanceInvoke(Value):
    merchant: str


class BalanceOk(Value):
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
