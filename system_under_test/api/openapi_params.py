"""What the OpenAPI document (api/openapi.py) says each request's parameters are: exactly what
api/params.py and api/form.py accept, built from their limits, so that a client generating
requests from the document makes valid ones and every request the document calls invalid is
refused.

A request the document calls valid may still be refused on the system's state: an object
that does not exist, a balance that does not cover a payout, a card the network declines.
"""

from typing import Any

from system_under_test.api.form import ID_LENGTH_MAX, IDEMPOTENCY_KEY_LENGTH_MAX
from system_under_test.api.params import (
    AMOUNT_MAX,
    CARD_DIGITS_MAX,
    CARD_DIGITS_MIN,
    DESCRIPTION_LENGTH_MAX,
    LIST_LIMIT_MAX,
    METADATA_KEY_LENGTH_MAX,
    METADATA_VALUE_LENGTH_MAX,
    TEST_TOKENS,
)
from system_under_test.payments.accounts import CHARGE_AMOUNT_MIN, CURRENCIES

Schema = dict[str, Any]

# PostgreSQL's text takes no NUL (api/form.py text_problem).
_STORABLE = "[^\\x00]"


def any_case(word: str) -> str:
    """A regular expression matching `word` in any case (the API lowercases what it reads).

    >>> any_case("usd")
    '[uU][sS][dD]'
    """
    return "".join(f"[{letter.lower()}{letter.upper()}]" for letter in word)


def amount(minimum: int = 1) -> Schema:
    """An amount in minor units, from `minimum` to Stripe's ceiling (ASCII digits on the
    wire)."""
    return {"type": "integer", "minimum": minimum, "maximum": AMOUNT_MAX}


def currency(*codes: str) -> Schema:
    """One of `codes`, in any case."""
    return {
        "type": "string",
        "pattern": f"^({'|'.join(any_case(code) for code in codes)})$",
        "description": f"{', '.join(codes)} (any case)",
    }


# An object id: what api/form.py object_id_problem lets through (printable ASCII); an id that
# names no object is then refused on the state (404, or 400 `resource_missing` for a cursor).
OBJECT_ID: Schema = {
    "type": "string",
    "minLength": 1,
    "maxLength": ID_LENGTH_MAX,
    "pattern": "^[ -~]+$",
}
# A test token or a card number (api/params.py _card_number); one that fails the Luhn check is
# a card error (402), as a decline is.
CARD: Schema = {
    "anyOf": [
        {"type": "string", "enum": sorted(TEST_TOKENS)},
        {"type": "string", "pattern": f"^[0-9]{{{CARD_DIGITS_MIN},{CARD_DIGITS_MAX}}}$"},
    ]
}
DESCRIPTION: Schema = {
    "type": "string",
    "maxLength": DESCRIPTION_LENGTH_MAX,
    "pattern": f"^{_STORABLE}*$",
}
# `metadata[key]=value` pairs (api/params.py metadata), and a bare empty `metadata` (unset).
METADATA_PAIRS: Schema = {
    f"^metadata\\[[^\\[\\x00]{{1,{METADATA_KEY_LENGTH_MAX}}}\\]$": {
        "type": "string",
        "maxLength": METADATA_VALUE_LENGTH_MAX,
        "pattern": f"^{_STORABLE}*$",
    }
}
METADATA_UNSET: Schema = {"type": "string", "const": ""}
# No NUL either (api/form.py), which HTTP itself forbids in a header's value.
IDEMPOTENCY_KEY: Schema = {
    "type": "string",
    "minLength": 1,
    "maxLength": IDEMPOTENCY_KEY_LENGTH_MAX,
}
LIMIT: Schema = {"type": "integer", "minimum": 1, "maximum": LIST_LIMIT_MAX}


def form(properties: dict[str, Schema], required: list[str], **more: Any) -> Schema:
    """A form that takes `properties` and metadata pairs, and no other parameter."""
    return {
        "type": "object",
        "properties": {**properties, "metadata": METADATA_UNSET},
        "patternProperties": METADATA_PAIRS,
        "additionalProperties": False,
        "required": required,
        **more,
    }


def charge_form() -> Schema:
    """A charge: a card (`source` or `card[number]`; each given must be one), and an amount of
    at least the currency's minimum."""
    return form(
        {
            "amount": amount(),
            "currency": currency(*CURRENCIES),
            "source": CARD,
            "card[number]": CARD,
            "capture": {"type": "string", "pattern": f"^{any_case('true')}$"},
            "description": DESCRIPTION,
        },
        ["amount", "currency"],
        anyOf=[{"required": ["source"]}, {"required": ["card[number]"]}],
        oneOf=[
            {"properties": {"currency": currency(code), "amount": amount(minimum)}}
            for code, minimum in CHARGE_AMOUNT_MIN.items()
        ],
    )


REFUND_FORM = form({"charge": OBJECT_ID, "amount": amount()}, ["charge"])
PAYOUT_FORM = form(
    {"amount": amount(), "currency": currency(*CURRENCIES), "description": DESCRIPTION},
    ["amount", "currency"],
)
