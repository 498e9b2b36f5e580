"""What the network accepts and decides for each kind of movement, free of I/O.

Each kind is a table row: its id prefix and its request fields. A request is validated against
its kind's fields (an unknown field is refused, never ignored), then decided: `expired` when it
was received after its deadline, else the test card decides an authorization, and refunds and
payouts are approved. The network checks nothing else: a refund larger than its authorization
is money moved, so that a payments-system bug shows in the records.
"""

import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from types import MappingProxyType

from system_under_test.externals.network.cards import decide as decide_card
from system_under_test.externals.network.contract import (
    FIELDS,
    MovementKind,
    Outcome,
    is_expired,
)

ID_PREFIXES: Mapping[MovementKind, str] = MappingProxyType(
    {
        MovementKind.AUTHORIZATION: "auth",
        MovementKind.REFUND: "nrf",
        MovementKind.PAYOUT: "npo",
    }
)
assert set(ID_PREFIXES) == set(MovementKind), "a kind lacks an id prefix"


def new_movement_id(kind: MovementKind) -> str:
    """A fresh record id in Stripe's style, such as `auth_3f9a...`; 24 hex characters make
    collisions negligible."""
    return f"{ID_PREFIXES[kind]}_{secrets.token_hex(12)}"


# SQLite stores an INTEGER in 64 signed bits; a larger amount would fail the insert.
AMOUNT_MAX = 2**63 - 1
# References and authorization ids are the payments system's ids (about 30 characters); the
# bound keeps one record small, with room to spare.
TEXT_LENGTH_MAX = 255

_CURRENCY = re.compile(r"[a-z]{3}")
# Not str.isdigit: it accepts other scripts' digits (fullwidth, Arabic-Indic, superscripts).
_CARD_NUMBER = re.compile(r"[0-9]{12,19}")


def _is_integer(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_text(value: object) -> bool:
    return isinstance(value, str) and 0 < len(value) <= TEXT_LENGTH_MAX


def _is_amount(value: object) -> bool:
    return _is_integer(value) and 0 < value <= AMOUNT_MAX


def _is_currency(value: object) -> bool:
    return isinstance(value, str) and _CURRENCY.fullmatch(value) is not None


def _is_card_number(value: object) -> bool:
    return isinstance(value, str) and _CARD_NUMBER.fullmatch(value) is not None


# field -> (check, what a valid value is)
_FIELD_CHECKS: Mapping[str, tuple[Callable[[object], bool], str]] = MappingProxyType(
    {
        "reference": (_is_text, f"a non-empty string of at most {TEXT_LENGTH_MAX} characters"),
        "amount": (_is_amount, f"an integer from 1 to {AMOUNT_MAX}"),
        "currency": (_is_currency, "three lowercase ASCII letters"),
        "not_after_ms": (_is_integer, "an integer (milliseconds since the epoch)"),
        "card_number": (_is_card_number, "a string of 12 to 19 ASCII digits"),
        "authorization_id": (
            _is_text,
            f"a non-empty string of at most {TEXT_LENGTH_MAX} characters",
        ),
    }
)

assert {name for names in FIELDS.values() for name in names} == set(_FIELD_CHECKS)


@dataclass(frozen=True)
class Movement:
    """One record of the network: a request it received and what it decided."""

    id: str
    kind: MovementKind
    reference: str
    amount: int
    currency: str
    card_last4: str | None
    authorization_id: str | None
    outcome: Outcome
    decline_code: str | None
    received_at_ns: int

    def to_json(self) -> dict[str, object]:
        return {**asdict(self), "kind": str(self.kind), "outcome": str(self.outcome)}


def parse(kind: MovementKind, body: object) -> dict[str, object] | str:
    """The validated fields of a request of `kind`, or why it is refused (naming the field).

    >>> parse(MovementKind.PAYOUT, {"reference": "po_1", "amount": 5, "currency": "usd"})
    "field 'not_after_ms' is required"
    >>> parse(MovementKind.PAYOUT, {"reference": "po_1", "amount": 5, "currency": "USD"})
    "field 'currency' must be three lowercase ASCII letters"
    """
    if not isinstance(body, dict):
        return "body must be a JSON object"
    names = FIELDS[kind]
    for name in body:
        if name not in names:
            return f"unknown field {name!r} (a {kind} takes {', '.join(names)})"
    for name in names:
        if name not in body:
            return f"field {name!r} is required"
        check, valid = _FIELD_CHECKS[name]
        if not check(body[name]):
            return f"field {name!r} must be {valid}"
    return {name: body[name] for name in names}


def decide(
    kind: MovementKind, fields: Mapping[str, object], *, movement_id: str, received_at_ns: int
) -> Movement:
    """The record of a valid request of `kind` received at `received_at_ns`.

    >>> fields = {"reference": "ch_1", "amount": 5, "currency": "usd",
    ...           "card_number": "4000000000009995", "not_after_ms": 2_000}
    >>> decide(MovementKind.AUTHORIZATION, fields, movement_id="auth_1",
    ...        received_at_ns=2_000_999_999).decline_code
    'insufficient_funds'
    >>> decide(MovementKind.AUTHORIZATION, fields, movement_id="auth_1",
    ...        received_at_ns=2_001_000_000).outcome
    <Outcome.EXPIRED: 'expired'>
    """
    card_number = fields.get("card_number")
    if is_expired(received_at_ns=received_at_ns, not_after_ms=fields["not_after_ms"]):
        outcome, decline_code = Outcome.EXPIRED, None
    elif kind is MovementKind.AUTHORIZATION:
        decline_code = decide_card(card_number)
        outcome = Outcome.APPROVED if decline_code is None else Outcome.DECLINED
    else:
        outcome, decline_code = Outcome.APPROVED, None
    return Movement(
        id=movement_id,
        kind=kind,
        reference=fields["reference"],
        amount=fields["amount"],
        currency=fields["currency"],
        card_last4=card_number[-4:] if card_number is not None else None,
        authorization_id=fields.get("authorization_id"),
        outcome=outcome,
        decline_code=decline_code,
        received_at_ns=received_at_ns,
    )
