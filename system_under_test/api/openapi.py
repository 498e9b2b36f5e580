"""The OpenAPI 3.1 document of the implemented API, served at `/openapi.json`.

Written out, not generated: it is the contract the wire functions are tested against (every
response the test suite receives is validated with it). Here: the paths, their parameters and
responses; the objects they answer with are api/openapi_components.py.
"""

from typing import Any

from system_under_test.api import openapi_params as params
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


IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "schema": params.IDEMPOTENCY_KEY,
}


def _page(filters: dict[str, Schema]) -> list[dict[str, Any]]:
    """A list's query parameters: `limit`, a cursor, and the endpoint's `filters`. A cursor
    names an object: an empty one is refused, as Stripe refuses an empty value for a parameter
    it cannot unset, and one that names no object is refused on the state. That the two
    cursors exclude each other is said in words: OpenAPI has no way to say it of two
    parameters."""
    cursor = "an object id; at most one of starting_after and ending_before"
    return [
        {"name": "limit", "in": "query", "schema": params.LIMIT},
        *(
            {"name": name, "in": "query", "schema": params.OBJECT_ID, "description": cursor}
            for name in ("starting_after", "ending_before")
        ),
        *({"name": name, "in": "query", "schema": schema} for name, schema in filters.items()),
    ]


def _answer(field: str) -> str:
    return f"$response.body#/{field}"


def _retrieve_link(operation: str, parameter: str, field: str = "id") -> dict[str, Any]:
    """A link from an answer to `operation`, its path `parameter` the answer's `field`."""
    return {"operationId": operation, "parameters": {parameter: _answer(field)}}


# A charge's answer makes a valid refund of all of it: the charge and its amount.
REFUND_ALL = {
    "operationId": "createRefund",
    "requestBody": {"charge": _answer("id"), "amount": _answer("amount")},
}
TRANSACTION = _retrieve_link("retrieveBalanceTransaction", "transaction_id", "balance_transaction")


def _create(operation: str, summary: str, form: Schema, schema: str, links: dict[str, Any]) -> dict:
    answer = _json(ref(schema), f"The {schema.lower()}") | {"links": links}
    return {
        "operationId": operation,
        "summary": summary,
        "security": AUTH,
        "parameters": [IDEMPOTENCY_KEY],
        "requestBody": {
            "required": True,
            "content": {"application/x-www-form-urlencoded": {"schema": form}},
        },
        "responses": {"200": answer, **ERRORS},
    }


def _retrieve(operation: str, summary: str, name: str, schema: str) -> dict:
    return {
        "operationId": operation,
        "summary": summary,
        "security": AUTH,
        "parameters": [{"name": name, "in": "path", "required": True, "schema": STRING}],
        "responses": {"200": _json(ref(schema), f"The {schema.lower()}"), **ERRORS},
    }


def _list(
    operation: str, summary: str, schema: str, filters: dict[str, Schema] | None = None
) -> dict:
    return {
        "operationId": operation,
        "summary": summary,
        "security": AUTH,
        "parameters": _page(filters or {}),
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
            "createCharge",
            "Create a charge",
            params.charge_form(),
            "Charge",
            {
                "retrieveCharge": _retrieve_link("retrieveCharge", "charge_id"),
                "refundAll": REFUND_ALL,
                "retrieveBalanceTransaction": TRANSACTION,
            },
        ),
        "get": _list("listCharges", "List charges", "Charge"),
    },
    "/v1/charges/{charge_id}": {
        "get": _retrieve("retrieveCharge", "Retrieve a charge", "charge_id", "Charge")
    },
    "/v1/refunds": {
        "post": _create(
            "createRefund",
            "Create a refund",
            params.REFUND_FORM,
            "Refund",
            {
                "retrieveRefund": _retrieve_link("retrieveRefund", "refund_id"),
                "retrieveBalanceTransaction": TRANSACTION,
            },
        ),
        "get": _list(
            "listRefunds",
            "List refunds",
            "Refund",
            {"charge": params.OBJECT_ID},
        ),
    },
    "/v1/refunds/{refund_id}": {
        "get": _retrieve("retrieveRefund", "Retrieve a refund", "refund_id", "Refund")
    },
    "/v1/payouts": {
        "post": _create(
            "createPayout",
            "Create a payout",
            params.PAYOUT_FORM,
            "Payout",
            {
                "retrievePayout": _retrieve_link("retrievePayout", "payout_id"),
                "retrieveBalanceTransaction": TRANSACTION,
            },
        ),
        "get": _list("listPayouts", "List payouts", "Payout"),
    },
    "/v1/payouts/{payout_id}": {
        "get": _retrieve("retrievePayout", "Retrieve a payout", "payout_id", "Payout")
    },
    "/v1/balance": {
        "get": {
            "operationId": "retrieveBalance",
            "summary": "Retrieve the balance",
            "security": AUTH,
            "responses": {"200": _json(ref("Balance"), "The balance"), **ERRORS},
        }
    },
    "/v1/balance_transactions": {
        "get": _list("listBalanceTransactions", "List balance transactions", "BalanceTransaction")
    },
    "/v1/balance_transactions/{transaction_id}": {
        "get": _retrieve(
            "retrieveBalanceTransaction",
            "Retrieve a balance transaction",
            "transaction_id",
            "BalanceTransaction",
        )
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
