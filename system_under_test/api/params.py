"""Each endpoint's parameters and their rules (no I/O); api/form.py holds what any request's
must be.

Each endpoint declares the parameters it acts on. A parameter Stripe has but this system does
not implement is refused by name as unsupported; any other unknown one is `parameter_unknown`.
Numbers and card numbers are ASCII digits only; `metadata[...]` and `description` are kept.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field

from system_under_test.api.form import (
    InvalidParameter,
    base_name,
    object_id_problem,
    undeclared_problem,
)
from system_under_test.payments.accounts import CHARGE_AMOUNT_MIN, CURRENCIES
from system_under_test.payments.errors import StripeError
from system_under_test.payments.requests import ChargeRequest, PayoutRequest, RefundRequest

# Stripe's ceiling for an amount in minor units (eight digits).
AMOUNT_MAX = 99_999_999
# Longer digit strings are refused before int() is asked to convert them.
AMOUNT_DIGITS_MAX = len(str(AMOUNT_MAX))
LIST_LIMIT_DEFAULT = 10
LIST_LIMIT_MAX = 100  # Stripe's page size ceiling.
# Stripe's metadata limits.
METADATA_KEYS_MAX = 50
METADATA_KEY_LENGTH_MAX = 40
METADATA_VALUE_LENGTH_MAX = 500
DESCRIPTION_LENGTH_MAX = 1000
# Stripe's test tokens and the card numbers they stand for.
TEST_TOKENS = {
    "tok_visa": "4242424242424242",
    "tok_chargeDeclined": "4000000000000002",
    "tok_chargeDeclinedInsufficientFunds": "4000000000009995",
    "tok_chargeDeclinedProcessingError": "4000000000000119",
    "tok_chargeDeclinedIncorrectNumber": "4242424242424241",
}
CARD_DIGITS_MIN = 12
CARD_DIGITS_MAX = 19

# Parameters of Stripe's API that this system does not implement, per endpoint.
UNSUPPORTED = {
    "charge": frozenset(
        {
            "application_fee_amount",
            "customer",
            "expand",
            "on_behalf_of",
            "radar_options",
            "receipt_email",
            "shipping",
            "statement_descriptor",
            "statement_descriptor_suffix",
            "transfer_data",
            "transfer_group",
        }
    ),
    "refund": frozenset(
        {
            "customer",
            "expand",
            "instructions_email",
            "origin",
            "payment_intent",
            "reason",
            "refund_application_fee",
            "reverse_transfer",
        }
    ),
    "payout": frozenset({"destination", "expand", "method", "source_type", "statement_descriptor"}),
    "list": frozenset({"created", "expand", "customer", "payment_intent", "status", "type"}),
}


@dataclass(frozen=True)
class ListRequest:
    limit: int
    starting_after: str | None
    ending_before: str | None
    # Filters an endpoint declares, e.g. a refund list's `charge`.
    filters: dict[str, str] = field(default_factory=dict)


def _ascii_digits(text: str) -> bool:
    # str.isdigit() accepts fullwidth and Arabic-Indic digits; Stripe takes ASCII only.
    return text.isascii() and text.isdigit()


def _amount(form: Mapping[str, str], minimum: int = 1) -> int | InvalidParameter:
    text = form.get("amount")
    if text is None:
        return InvalidParameter(StripeError.PARAMETER_MISSING, "amount")
    if not _ascii_digits(text):
        return InvalidParameter(StripeError.INTEGER_INVALID, "amount", {"text": text[:20]})
    significant = text.lstrip("0")
    if len(significant) > AMOUNT_DIGITS_MAX or int(significant or "0") > AMOUNT_MAX:
        return InvalidParameter(StripeError.AMOUNT_TOO_LARGE, "amount", {"maximum": AMOUNT_MAX})
    amount = int(significant or "0")
    if amount < minimum:
        return InvalidParameter(StripeError.AMOUNT_TOO_SMALL, "amount", {"minimum": minimum})
    return amount


def _currency(form: Mapping[str, str]) -> str | InvalidParameter:
    if "currency" not in form:
        return InvalidParameter(StripeError.PARAMETER_MISSING, "currency")
    currency = form["currency"].lower()
    if currency not in CURRENCIES:
        return InvalidParameter(
            StripeError.CURRENCY_INVALID, "currency", {"text": form["currency"][:20]}
        )
    return currency


def metadata(form: Mapping[str, str]) -> dict[str, str] | InvalidParameter:
    """`metadata[key]=value` pairs, within Stripe's limits; empty values are unset.

    >>> metadata({"metadata[order]": "6735", "metadata[note]": "", "amount": "5"})
    {'order': '6735'}
    """
    found: dict[str, str] = {}
    for name, value in form.items():
        if base_name(name) != "metadata":
            continue
        if name == "metadata" and value == "":
            continue
        if not name.startswith("metadata[") or not name.endswith("]") or name.count("[") != 1:
            return InvalidParameter(StripeError.METADATA_NAME_INVALID, name)
        key = name[len("metadata[") : -1]
        if not key or len(key) > METADATA_KEY_LENGTH_MAX:
            return InvalidParameter(
                StripeError.METADATA_KEY_LENGTH, name, {"maximum": METADATA_KEY_LENGTH_MAX}
            )
        if len(value) > METADATA_VALUE_LENGTH_MAX:
            return InvalidParameter(
                StripeError.METADATA_VALUE_LENGTH, name, {"maximum": METADATA_VALUE_LENGTH_MAX}
            )
        if value:
            found[key] = value
    if len(found) > METADATA_KEYS_MAX:
        return InvalidParameter(
            StripeError.METADATA_KEYS_TOO_MANY, "metadata", {"maximum": METADATA_KEYS_MAX}
        )
    return found


def _description(form: Mapping[str, str]) -> str | InvalidParameter | None:
    text = form.get("description")
    if text is not None and len(text) > DESCRIPTION_LENGTH_MAX:
        return InvalidParameter(
            StripeError.DESCRIPTION_TOO_LONG, "description", {"maximum": DESCRIPTION_LENGTH_MAX}
        )
    return text or None


def luhn_valid(number: str) -> bool:
    """Whether a card number passes the Luhn check.

    >>> luhn_valid("4242424242424242"), luhn_valid("4242424242424241")
    (True, False)
    """
    total = 0
    for position, digit in enumerate(reversed(number)):
        value = int(digit) * (2 if position % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def _card_number(form: Mapping[str, str]) -> str | InvalidParameter:
    """The card to charge: `source`, else `card[number]`. Each one given must be a card (the
    OpenAPI document says so, and a client must not learn otherwise only when it is used), and
    a number that is no card (400) is named before one that fails the Luhn check (402)."""
    given = [form[name] for name in ("source", "card[number]") if name in form] or [""]
    numbers = [TEST_TOKENS.get(text, text) for text in given]
    for text, number in zip(given, numbers, strict=True):
        if not _ascii_digits(number) or not CARD_DIGITS_MIN <= len(number) <= CARD_DIGITS_MAX:
            return InvalidParameter(StripeError.CARD_UNKNOWN, "source", {"text": text[:30]})
    if not all(luhn_valid(number) for number in numbers):
        return InvalidParameter(StripeError.CARD_NUMBER_INCORRECT, "source")
    return numbers[0]


def _capture(form: Mapping[str, str]) -> InvalidParameter | None:
    capture = form.get("capture", "true").lower()
    if capture == "true":
        return None
    if capture == "false":
        return InvalidParameter(StripeError.CAPTURE_UNSUPPORTED, "capture")
    return InvalidParameter(StripeError.BOOLEAN_INVALID, "capture", {"text": capture[:20]})


def _first_problem(*values: object) -> InvalidParameter | None:
    return next((value for value in values if isinstance(value, InvalidParameter)), None)


def parse_charge(form: Mapping[str, str]) -> ChargeRequest | InvalidParameter:
    """Validate the parameters of a charge creation.

    >>> parse_charge({"amount": "500", "currency": "usd", "source": "tok_visa"}).card_number
    '4242424242424242'
    >>> parse_charge({"amount": "500", "currency": "usd", "source": "4242424242424241"}).code
    'incorrect_number'
    """
    declared = frozenset(
        {"amount", "currency", "source", "card[number]", "capture", "description", "metadata"}
    )
    undeclared = undeclared_problem(form, declared, UNSUPPORTED["charge"])
    currency = _currency(form)
    minimum = CHARGE_AMOUNT_MIN.get(currency, 1) if isinstance(currency, str) else 1
    amount = _amount(form, minimum)
    card_number = _card_number(form)
    described = _description(form)
    pairs = metadata(form)
    problem = _first_problem(undeclared, amount, currency, _capture(form), described, pairs)
    # A card error only once every parameter is well formed, as Stripe orders them.
    problem = problem or _first_problem(card_number)
    if problem is not None:
        return problem
    assert isinstance(amount, int) and isinstance(currency, str) and isinstance(card_number, str)
    assert not isinstance(described, InvalidParameter) and isinstance(pairs, dict)
    return ChargeRequest(amount, currency, card_number, described, pairs)


def parse_refund(form: Mapping[str, str]) -> RefundRequest | InvalidParameter:
    """Validate the parameters of a refund creation; `amount` defaults to the remainder.

    >>> parse_refund({"charge": "ch_1"})
    RefundRequest(charge_id='ch_1', amount=None, metadata={})
    """
    undeclared = undeclared_problem(
        form, frozenset({"charge", "amount", "metadata"}), UNSUPPORTED["refund"]
    )
    if undeclared is not None:
        return undeclared
    charge_id = form.get("charge", "")
    if not charge_id:
        return InvalidParameter(StripeError.PARAMETER_MISSING, "charge")
    if object_id_problem(charge_id) is not None:
        return InvalidParameter(
            StripeError.NO_SUCH_OBJECT, "charge", {"noun": "charge", "shown": repr(charge_id[:40])}
        )
    amount = _amount(form) if "amount" in form else None
    pairs = metadata(form)
    problem = _first_problem(amount, pairs)
    if problem is not None:
        return problem
    assert not isinstance(amount, InvalidParameter) and isinstance(pairs, dict)
    return RefundRequest(charge_id=charge_id, amount=amount, metadata=pairs)


def parse_payout(form: Mapping[str, str]) -> PayoutRequest | InvalidParameter:
    """Validate the parameters of a payout creation.

    >>> parse_payout({"amount": "700", "currency": "eur"})
    PayoutRequest(amount=700, currency='eur', description=None, metadata={})
    """
    declared = frozenset({"amount", "currency", "description", "metadata"})
    undeclared = undeclared_problem(form, declared, UNSUPPORTED["payout"])
    amount = _amount(form)
    currency = _currency(form)
    described = _description(form)
    pairs = metadata(form)
    problem = _first_problem(undeclared, amount, currency, described, pairs)
    if problem is not None:
        return problem
    assert isinstance(amount, int) and isinstance(currency, str) and isinstance(pairs, dict)
    assert not isinstance(described, InvalidParameter)
    return PayoutRequest(amount, currency, described, pairs)


def parse_list(
    query: Mapping[str, str], *, filters: frozenset[str] = frozenset()
) -> ListRequest | InvalidParameter:
    """A list's `limit` (1 to 100, default 10) and its cursor: `starting_after` or
    `ending_before`, not both.

    >>> parse_list({"limit": "3", "starting_after": "ch_1"})
    ListRequest(limit=3, starting_after='ch_1', ending_before=None, filters={})
    """
    declared = frozenset({"limit", "starting_after", "ending_before"}) | filters
    undeclared = undeclared_problem(query, declared, UNSUPPORTED["list"])
    if undeclared is not None:
        return undeclared
    text = query.get("limit", str(LIST_LIMIT_DEFAULT))
    if not _ascii_digits(text) or len(text) > 3 or not 1 <= int(text) <= LIST_LIMIT_MAX:
        return InvalidParameter(StripeError.LIMIT_INVALID, "limit", {"maximum": LIST_LIMIT_MAX})
    cursors = {name: query[name] for name in ("starting_after", "ending_before") if name in query}
    if len(cursors) == 2:
        return InvalidParameter(StripeError.CURSORS_BOTH, "ending_before")
    for name, value in {
        **cursors,
        **{name: query[name] for name in filters if name in query},
    }.items():
        if not value or object_id_problem(value) is not None:
            return InvalidParameter(StripeError.OBJECT_ID_INVALID, name, {"text": value[:40]})
    return ListRequest(
        limit=int(text),
        starting_after=cursors.get("starting_after"),
        ending_before=cursors.get("ending_before"),
        filters={name: query[name] for name in filters if name in query},
    )
