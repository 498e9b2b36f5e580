"""Parsing of `POST /v1/charges` form parameters (no I/O)."""

from collections.abc import Mapping
from dataclasses import dataclass

# Stripe's test tokens and the card numbers they stand for.
TEST_TOKENS = {
    "tok_visa": "4242424242424242",
    "tok_chargeDeclined": "4000000000000002",
    "tok_chargeDeclinedInsufficientFunds": "4000000000009995",
}
SUPPORTED_CURRENCIES = frozenset({"usd", "eur", "gbp"})
# Stripe's ceiling for a charge amount in minor units (eight digits).
AMOUNT_MAX = 99_999_999


@dataclass(frozen=True)
class ChargeRequest:
    amount: int
    currency: str
    card_number: str


@dataclass(frozen=True)
class InvalidParameter:
    param: str
    message: str


def parse_charge_request(form: Mapping[str, str]) -> ChargeRequest | InvalidParameter:
    """Validate the parameters of a charge creation.

    >>> parse_charge_request({"amount": "500", "currency": "usd", "source": "tok_visa"})
    ChargeRequest(amount=500, currency='usd', card_number='4242424242424242')
    """
    amount_text = form.get("amount", "")
    if not amount_text.isdigit() or not 1 <= int(amount_text) <= AMOUNT_MAX:
        return InvalidParameter("amount", f"Invalid positive integer: {amount_text!r}")
    currency = form.get("currency", "").lower()
    if currency not in SUPPORTED_CURRENCIES:
        return InvalidParameter("currency", f"Invalid currency: {currency!r}")
    source = form.get("source") or form.get("card[number]") or ""
    card_number = TEST_TOKENS.get(source, source)
    if not card_number.isdigit() or not 12 <= len(card_number) <= 19:
        return InvalidParameter("source", f"No such token or card number: {source!r}")
    return ChargeRequest(amount=int(amount_text), currency=currency, card_number=card_number)


def canonical_params(form: Mapping[str, str]) -> dict[str, str]:
    """The request parameters as compared between an idempotent request and its retry."""
    return {name: form[name] for name in sorted(form)}
