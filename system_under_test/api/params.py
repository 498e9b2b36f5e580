"""Parsing of form parameters (no I/O): each endpoint declares its parameters, an unknown one
is refused by name, and numbers are ASCII digits within Stripe's limits."""

from collections.abc import Mapping
from dataclasses import dataclass

from system_under_test.payments.accounts import CURRENCIES

# Stripe's ceiling for an amount in minor units (eight digits).
AMOUNT_MAX = 99_999_999
# Longer digit strings are refused before int() is asked to convert them.
AMOUNT_DIGITS_MAX = len(str(AMOUNT_MAX))
IDEMPOTENCY_KEY_LENGTH_MAX = 255  # Stripe's documented limit.
# Object ids are short ASCII (`ch_` and 24 hex digits); anything longer names no object.
ID_LENGTH_MAX = 255
LIST_LIMIT_DEFAULT = 10
LIST_LIMIT_MAX = 100  # Stripe's page size ceiling.
# Stripe's test tokens and the card numbers they stand for.
TEST_TOKENS = {
    "tok_visa": "4242424242424242",
    "tok_chargeDeclined": "4000000000000002",
    "tok_chargeDeclinedInsufficientFunds": "4000000000009995",
}
CARD_DIGITS_MIN = 12
CARD_DIGITS_MAX = 19


@dataclass(frozen=True)
class InvalidParameter:
    """Why a request's parameters are refused; `param` names the one at fault."""

    param: str | None
    message: str
    code: str


@dataclass(frozen=True)
class ChargeRequest:
    amount: int
    currency: str
    card_number: str


@dataclass(frozen=True)
class RefundRequest:
    charge_id: str
    # None: the charge's whole remainder.
    amount: int | None


@dataclass(frozen=True)
class PayoutRequest:
    amount: int
    currency: str


def text_problem(text: str) -> str | None:
    """Why a parameter, header or path text cannot be stored, or None.

    PostgreSQL's text refuses NUL, and undecodable bytes arrive as lone surrogates that no
    encoder takes; both are the client's error, never the server's.

    >>> text_problem("ch_1" + chr(0))
    'contains a NUL character'
    """
    if "\x00" in text:
        return "contains a NUL character"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "is not valid UTF-8"
    return None


def form_problem(form: Mapping[str, str]) -> InvalidParameter | None:
    """The first parameter name or value that cannot be taken at all."""
    for name, value in form.items():
        problem = text_problem(name) or text_problem(value)
        if problem is not None:
            shown = name if text_problem(name) is None else repr(name)
            return InvalidParameter(shown, f"Parameter {shown} {problem}.", "parameter_invalid")
    return None


def object_id_problem(object_id: str) -> str | None:
    """Why a text cannot be an object id (so no object has it), or None."""
    if not object_id.isascii() or not object_id.isprintable() or len(object_id) > ID_LENGTH_MAX:
        return "is not an object id"
    return None


def _unknown(form: Mapping[str, str], declared: frozenset[str]) -> InvalidParameter | None:
    for name in sorted(form):
        if name not in declared:
            return InvalidParameter(
                name, f"Received unknown parameter: {name}", "parameter_unknown"
            )
    return None


def _ascii_digits(text: str) -> bool:
    # str.isdigit() accepts fullwidth and Arabic-Indic digits; Stripe takes ASCII only.
    return text.isascii() and text.isdigit()


def _amount(form: Mapping[str, str]) -> int | InvalidParameter:
    text = form.get("amount")
    if text is None:
        return InvalidParameter("amount", "Missing required param: amount.", "parameter_missing")
    if not _ascii_digits(text):
        return InvalidParameter(
            "amount", f"Invalid positive integer: {text[:20]!r}", "parameter_invalid_integer"
        )
    significant = text.lstrip("0")
    if not significant:
        return InvalidParameter("amount", "Amount must be at least 1.", "amount_too_small")
    if len(significant) > AMOUNT_DIGITS_MAX or int(significant) > AMOUNT_MAX:
        return InvalidParameter(
            "amount", f"Amount must be no more than {AMOUNT_MAX}.", "amount_too_large"
        )
    return int(significant)


def _currency(form: Mapping[str, str]) -> str | InvalidParameter:
    currency = form.get("currency", "").lower()
    if currency not in CURRENCIES:
        return InvalidParameter(
            "currency", f"Invalid currency: {form.get('currency', '')!r}", "parameter_invalid"
        )
    return currency


def parse_charge(form: Mapping[str, str]) -> ChargeRequest | InvalidParameter:
    """Validate the parameters of a charge creation.

    >>> parse_charge({"amount": "500", "currency": "usd", "source": "tok_visa"})
    ChargeRequest(amount=500, currency='usd', card_number='4242424242424242')
    """
    unknown = _unknown(form, frozenset({"amount", "currency", "source", "card[number]"}))
    if unknown is not None:
        return unknown
    amount = _amount(form)
    if isinstance(amount, InvalidParameter):
        return amount
    currency = _currency(form)
    if isinstance(currency, InvalidParameter):
        return currency
    source = form.get("source") or form.get("card[number]") or ""
    card_number = TEST_TOKENS.get(source, source)
    if not _ascii_digits(card_number) or not CARD_DIGITS_MIN <= len(card_number) <= CARD_DIGITS_MAX:
        return InvalidParameter(
            "source", f"No such token or card number: {source!r}", "parameter_invalid"
        )
    return ChargeRequest(amount=amount, currency=currency, card_number=card_number)


def parse_refund(form: Mapping[str, str]) -> RefundRequest | InvalidParameter:
    """Validate the parameters of a refund creation; `amount` defaults to the remainder.

    >>> parse_refund({"charge": "ch_1"})
    RefundRequest(charge_id='ch_1', amount=None)
    """
    unknown = _unknown(form, frozenset({"charge", "amount"}))
    if unknown is not None:
        return unknown
    charge_id = form.get("charge", "")
    if not charge_id:
        return InvalidParameter("charge", "Missing required param: charge.", "parameter_missing")
    if object_id_problem(charge_id) is not None:
        return InvalidParameter("charge", f"No such charge: {charge_id[:40]!r}", "resource_missing")
    if "amount" not in form:
        return RefundRequest(charge_id=charge_id, amount=None)
    amount = _amount(form)
    if isinstance(amount, InvalidParameter):
        return amount
    return RefundRequest(charge_id=charge_id, amount=amount)


def parse_payout(form: Mapping[str, str]) -> PayoutRequest | InvalidParameter:
    """Validate the parameters of a payout creation.

    >>> parse_payout({"amount": "700", "currency": "eur"})
    PayoutRequest(amount=700, currency='eur')
    """
    unknown = _unknown(form, frozenset({"amount", "currency"}))
    if unknown is not None:
        return unknown
    amount = _amount(form)
    if isinstance(amount, InvalidParameter):
        return amount
    currency = _currency(form)
    if isinstance(currency, InvalidParameter):
        return currency
    return PayoutRequest(amount=amount, currency=currency)


def canonical_params(form: Mapping[str, str]) -> dict[str, str]:
    """The request parameters as compared between an idempotent request and its retry."""
    return {name: form[name] for name in sorted(form)}


def idempotency_key_problem(key: str) -> str | None:
    """Why an Idempotency-Key header is refused, or None."""
    if not 1 <= len(key) <= IDEMPOTENCY_KEY_LENGTH_MAX:
        return f"Idempotency-Key must be 1 to {IDEMPOTENCY_KEY_LENGTH_MAX} characters"
    problem = text_problem(key)
    return f"Idempotency-Key {problem}" if problem else None


def parse_limit(query: Mapping[str, str]) -> int | InvalidParameter:
    """A list's `limit`: ASCII digits, 1 to 100 (default 10)."""
    text = query.get("limit")
    if text is None:
        return LIST_LIMIT_DEFAULT
    if not _ascii_digits(text) or len(text) > 3 or not 1 <= int(text) <= LIST_LIMIT_MAX:
        return InvalidParameter(
            "limit", f"limit must be an integer from 1 to {LIST_LIMIT_MAX}", "parameter_invalid"
        )
    return int(text)
