"""The OpenAPI 3.1 document of the implemented API, served at `/openapi.json`.

Written out, not generated: it is the contract the wire functions are tested against (every
response the test suite receives is validated with it). Here: the paths, their parameters and
responses; the objects they answer with are api/openapi_components.py.
"""

from typing import Any

from system_under_test.api.form import IDEMPOTENCY_KEY_LENGTH_MAX
from system_under_test.api.openapi_components import (
    ANY_OBJECT,
    OBJECTS,
    STRING,
    Schema,
    const,
    list_of,
    obj,
    ref,
)
from system_under_test.api.params import AMOUNT_MAX, DESCRIPTION_LENGTH_MAX, LIST_LIMIT_MAX
from system_under_test.payments.errors import StripeError

REQUEST_ID_HEADER = {
    "Request-Id": {
        "required": True,
        "schema": {"type": "string", "pattern": "^req_[0-9a-f]{24}$"},
        "description": "The request's id, also in the server's log",
    }
}


def _json(schema: Schema, description: str) -> dict[str, Any]:
    return {
        "description": description,
        "headers": REQUEST_ID_HEADER,
        "content": {"application/json": {"schema": schema}},
    }


def _error_kinds(status: int) -> str:
    """What the table answers with `status`: each type with its codes."""
    codes: dict[str, set[str]] = {}
    for error in StripeError:
        if error.status == status:
            codes.setdefault(error.error_type, set()).update([error.code] if error.code else [])
    return "; ".join(
        f"{error_type} ({', '.join(sorted(found))})" if found else error_type
        for error_type, found in sorted(codes.items())
    )


# Every status of the error table, and the web framework's own refusals (no such route, a
# method not allowed, a body too large) as the default.
ERRORS = {
    **{
        str(status): _json(ref("Error"), f"A Stripe error object: {_error_kinds(status)}")
        for status in sorted({error.status for error in StripeError if error.status is not None})
    },
    "default": _json(ref("Error"), "A Stripe error object"),
}
AUTH = [{"bearer": []}, {"basic": []}]


def _form(properties: dict[str, Schema], required: list[str]) -> dict[str, Any]:
    schema: Schema = {"type": "object", "properties": properties, "required": required}
    return {
        "required": True,
        "content": {"application/x-www-form-urlencoded": {"schema": schema}},
    }


AMOUNT = {"type": "string", "pattern": "^[0-9]+$", "description": f"1 to {AMOUNT_MAX}"}
IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": IDEMPOTENCY_KEY_LENGTH_MAX},
}
LIST_PARAMETERS = [
    {
        "name": "limit",
        "in": "query",
        "schema": {"type": "integer", "minimum": 1, "maximum": LIST_LIMIT_MAX},
    },
    {"name": "starting_after", "in": "query", "schema": STRING},
    {"name": "ending_before", "in": "query", "schema": STRING},
]
DESCRIPTION = {"type": "string", "maxLength": DESCRIPTION_LENGTH_MAX}


def _create(summary: str, body: dict[str, Any], schema: str, extra: dict | None = None) -> dict:
    responses = {"200": _json(ref(schema), f"The {schema.lower()}"), **ERRORS}
    if extra:
        responses.update(extra)
    return {
        "summary": summary,
        "security": AUTH,
        "parameters": [IDEMPOTENCY_KEY],
        "requestBody": body,
        "responses": responses,
    }


def _retrieve(summary: str, name: str, schema: str) -> dict:
    return {
        "summary": summary,
        "security": AUTH,
        "parameters": [{"name": name, "in": "path", "required": True, "schema": STRING}],
        "responses": {"200": _json(ref(schema), f"The {schema.lower()}"), **ERRORS},
    }


def _list(summary: str, schema: str, extra_parameters: list | None = None) -> dict:
    return {
        "summary": summary,
        "security": AUTH,
        "parameters": LIST_PARAMETERS + (extra_parameters or []),
        "responses": {"200": _json(ref(f"{schema}List"), f"A page of {schema}s"), **ERRORS},
    }


PATHS = {
    "/health": {
        "get": {
            "summary": "Liveness of the API process (no authentication)",
            "responses": {"200": _json(obj({"status": const("ok")}), "Alive")},
        }
    },
    "/openapi.json": {
        "get": {
            "summary": "This document (no authentication)",
            "responses": {"200": _json(ANY_OBJECT, "The OpenAPI document")},
        }
    },
    "/v1/charges": {
        "post": _create(
            "Create a charge",
            _form(
                {
                    "amount": AMOUNT,
                    "currency": STRING,
                    "source": STRING,
                    "card[number]": STRING,
                    "capture": {"enum": ["true"]},
                    "description": DESCRIPTION,
                },
                ["amount", "currency"],
            ),
            "Charge",
        ),
        "get": _list("List charges", "Charge"),
    },
    "/v1/charges/{charge_id}": {"get": _retrieve("Retrieve a charge", "charge_id", "Charge")},
    "/v1/refunds": {
        "post": _create(
            "Create a refund", _form({"charge": STRING, "amount": AMOUNT}, ["charge"]), "Refund"
        ),
        "get": _list(
            "List refunds", "Refund", [{"name": "charge", "in": "query", "schema": STRING}]
        ),
    },
    "/v1/refunds/{refund_id}": {"get": _retrieve("Retrieve a refund", "refund_id", "Refund")},
    "/v1/payouts": {
        "post": _create(
            "Create a payout",
            _form(
                {"amount": AMOUNT, "currency": STRING, "description": DESCRIPTION},
                ["amount", "currency"],
            ),
            "Payout",
        ),
        "get": _list("List payouts", "Payout"),
    },
    "/v1/payouts/{payout_id}": {"get": _retrieve("Retrieve a payout", "payout_id", "Payout")},
    "/v1/balance": {
        "get": {
            "summary": "Retrieve the balance",
            "security": AUTH,
            "responses": {"200": _json(ref("Balance"), "The balance"), **ERRORS},
        }
    },
    "/v1/balance_transactions": {"get": _list("List balance transactions", "BalanceTransaction")},
    "/v1/balance_transactions/{transaction_id}": {
        "get": _retrieve("Retrieve a balance transaction", "transaction_id", "BalanceTransaction")
    },
}


DOCUMENT: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {
        "title": "paychaos payments system",
        "version": "1",
        "description": "The subset of Stripe's API v1 that the system under test implements.",
    },
    "servers": [{"url": "/"}],
    "components": {
        "securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer"},
            "basic": {"type": "http", "scheme": "basic"},
        },
        "schemas": {
            **OBJECTS,
            **{
                f"{name}List": list_of(name, "")
                for name in ("Charge", "Refund", "Payout", "BalanceTransaction")
            },
        },
    },
    "paths": PATHS,
}
