"""The schema components of the OpenAPI document (api/openapi.py): Stripe's objects as this
system answers them, and its error object. Objects list every field Stripe's have; what this
system does not model is present and null.
"""

from typing import Any

from system_under_test.payments.errors import StripeError

Schema = dict[str, Any]

STRING: Schema = {"type": "string"}
INTEGER: Schema = {"type": "integer"}
BOOLEAN: Schema = {"type": "boolean"}
TIMESTAMP: Schema = {"type": "integer", "minimum": 0}
METADATA: Schema = {"type": "object", "additionalProperties": {"type": "string"}}
ANY_OBJECT: Schema = {"type": "object"}


def nullable(schema: Schema) -> Schema:
    """`schema` or null."""
    return {"anyOf": [schema, {"type": "null"}]}


def obj(properties: dict[str, Schema]) -> Schema:
    """A closed object: every property present, no other."""
    return {
        "type": "object",
        "properties": properties,
        "required": sorted(properties),
        "additionalProperties": False,
    }


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def const(value: str) -> Schema:
    return {"type": "string", "const": value}


def list_of(item: str, url: str) -> Schema:
    return obj(
        {
            "object": const("list"),
            "data": {"type": "array", "items": ref(item)},
            "has_more": BOOLEAN,
            "url": STRING if url == "" else {"type": "string", "pattern": url},
        }
    )


NULL: Schema = {"type": "null"}

OUTCOME = obj(
    {
        "network_status": {
            "enum": ["approved_by_network", "declined_by_network", "not_sent_to_network"]
        },
        "reason": nullable(STRING),
        "risk_level": STRING,
        "risk_score": nullable(INTEGER),
        "seller_message": STRING,
        "type": {"enum": ["authorized", "issuer_declined", "invalid"]},
    }
)

# The fields every money movement's object has.
MOVEMENT_FIELDS: dict[str, Schema] = {
    "amount": INTEGER,
    "balance_transaction": nullable(STRING),
    "created": TIMESTAMP,
    "currency": STRING,
    "description": nullable(STRING),
    "metadata": METADATA,
}


def _movement_object(prefix: str, name: str, fields: dict[str, Schema]) -> Schema:
    """A money movement's object: its id and object name first, then its own `fields` and the
    common ones in alphabetical order, as Stripe's reference lists them."""
    return obj(
        {
            "id": {"type": "string", "pattern": f"^{prefix}_"},
            "object": const(name),
            **dict(sorted({**MOVEMENT_FIELDS, **fields}.items())),
        }
    )


CHARGE = _movement_object(
    "ch",
    "charge",
    {
        "amount_captured": INTEGER,
        "amount_refunded": INTEGER,
        "application": NULL,
        "application_fee": NULL,
        "application_fee_amount": NULL,
        "billing_details": obj({"address": NULL, "email": NULL, "name": NULL, "phone": NULL}),
        "calculated_statement_descriptor": NULL,
        "captured": BOOLEAN,
        "customer": NULL,
        "disputed": BOOLEAN,
        "failure_balance_transaction": NULL,
        "failure_code": nullable(STRING),
        "failure_message": nullable(STRING),
        "fraud_details": ANY_OBJECT,
        "invoice": NULL,
        "livemode": BOOLEAN,
        "on_behalf_of": NULL,
        "outcome": nullable(OUTCOME),
        "paid": BOOLEAN,
        "payment_intent": NULL,
        "payment_method": NULL,
        "payment_method_details": obj(
            {"card": obj({"last4": STRING, "network": STRING}), "type": const("card")}
        ),
        "receipt_email": NULL,
        "receipt_number": NULL,
        "receipt_url": NULL,
        "refunded": BOOLEAN,
        "refunds": list_of("Refund", "^/v1/charges/ch_[^/]+/refunds$"),
        "review": NULL,
        "shipping": NULL,
        "source": NULL,
        "source_transfer": NULL,
        "statement_descriptor": NULL,
        "statement_descriptor_suffix": NULL,
        "status": {"enum": ["succeeded", "pending", "failed"]},
        "transfer_data": NULL,
        "transfer_group": NULL,
    },
)

REFUND = _movement_object(
    "re",
    "refund",
    {
        "charge": STRING,
        "destination_details": NULL,
        "failure_balance_transaction": nullable(STRING),
        "failure_reason": nullable(STRING),
        "instructions_email": NULL,
        "next_action": NULL,
        "payment_intent": NULL,
        "reason": NULL,
        "receipt_number": NULL,
        "source_transfer_reversal": NULL,
        "status": {"enum": ["pending", "succeeded", "failed"]},
        "transfer_reversal": NULL,
    },
)

PAYOUT = _movement_object(
    "po",
    "payout",
    {
        "arrival_date": TIMESTAMP,
        "automatic": BOOLEAN,
        "destination": NULL,
        "failure_balance_transaction": nullable(STRING),
        "failure_code": nullable(STRING),
        "failure_message": nullable(STRING),
        "livemode": BOOLEAN,
        "method": STRING,
        "source_type": STRING,
        "statement_descriptor": NULL,
        "status": {"enum": ["paid", "pending", "failed"]},
        "type": STRING,
    },
)

FUNDS = {
    "type": "array",
    "items": obj({"amount": INTEGER, "currency": STRING, "source_types": obj({"card": INTEGER})}),
}
BALANCE = obj(
    {"object": const("balance"), "available": FUNDS, "pending": FUNDS, "livemode": BOOLEAN}
)

BALANCE_TRANSACTION = obj(
    {
        "id": {"type": "string", "pattern": "^txn_[0-9]+$"},
        "object": const("balance_transaction"),
        "amount": INTEGER,
        "available_on": TIMESTAMP,
        "created": TIMESTAMP,
        "currency": STRING,
        "description": NULL,
        "exchange_rate": NULL,
        "fee": INTEGER,
        "fee_details": {"type": "array", "maxItems": 0},
        "net": INTEGER,
        "reporting_category": STRING,
        "source": STRING,
        "status": const("available"),
        "type": {"enum": ["charge", "refund", "refund_failure", "payout", "payout_failure"]},
    }
)

ERROR = obj(
    {
        "error": {
            "type": "object",
            "properties": {
                "type": {"enum": sorted({error.error_type for error in StripeError})},
                "message": STRING,
                "code": STRING,
                "param": STRING,
                "decline_code": STRING,
                "charge": STRING,
            },
            "required": ["type", "message"],
            "additionalProperties": False,
        }
    }
)


OBJECTS = {
    "Charge": CHARGE,
    "Refund": REFUND,
    "Payout": PAYOUT,
    "Balance": BALANCE,
    "BalanceTransaction": BALANCE_TRANSACTION,
    "Error": ERROR,
}
