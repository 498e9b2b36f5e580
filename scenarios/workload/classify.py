"""How an HTTP answer becomes a history completion (ok / fail / info), per op kind (no I/O).

A result the client cannot know (timeout, reset, 5xx, key in use, an object still pending) is
`info`: the op may or may not have happened. A fail is definite: the op did not take effect.
"""

from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from invariants.api_answers import CARD_FAILURE_STATUS, indeterminate


@dataclass(frozen=True)
class Completion:
    type: str  # "ok" | "fail" | "info"
    value: dict[str, Any] | None
    error: str | None


# Each write kind: the field naming its object in the history, and its wire status of success.
WRITE_KINDS = {
    "charge": ("charge_id", "succeeded"),
    "refund": ("refund_id", "succeeded"),
    "payout": ("payout_id", "paid"),
}


def _error_of(payload: dict) -> dict:
    error = payload.get("error")
    return error if isinstance(error, dict) else {}


def classify_write(kind: str, status: int, body: object, replayed: bool) -> Completion:
    """The completion of one answer to `POST /v1/<kind>s`.

    >>> classify_write("charge", 402, {"error": {"code": "card_declined",
    ...     "decline_code": "generic_decline", "charge": "ch_1"}}, False).error
    'generic_decline'
    >>> classify_write("payout", 200, {"id": "po_1", "status": "failed",
    ...     "failure_code": "could_not_process", "amount": 5}, False).type
    'fail'
    """
    id_field, succeeded = WRITE_KINDS[kind]
    payload = body if isinstance(body, dict) else {}
    wire_status = payload.get("status")
    if status == HTTPStatus.OK and wire_status == succeeded:
        value = {
            id_field: payload.get("id"),
            "status": wire_status,
            "amount": payload.get("amount"),
        }
        if kind == "refund":
            value["charge_id"] = payload.get("charge")
        return Completion("ok", value | {"replayed": replayed}, None)
    if status == HTTPStatus.OK and wire_status == "failed":
        code = payload.get("failure_code") or payload.get("failure_reason") or "failed"
        value = {id_field: payload.get("id"), "status": "failed", "http_status": status}
        return Completion("fail", value, code)
    error = _error_of(payload)
    code = error.get("decline_code") or error.get("code") or error.get("type")
    if indeterminate(status) or status == HTTPStatus.OK:
        # 200 without a final status: the object is pending, its outcome not known yet.
        return Completion("info", {"http_status": status}, code or f"http_{status}")
    value = {
        id_field: error.get(kind),
        "status": "failed" if status == CARD_FAILURE_STATUS else None,
        "http_status": status,
    }
    return Completion("fail", value, code or f"http_{status}")


def classify_read(status: int, body: object) -> Completion:
    """The completion of a read-back `GET /v1/<kind>s/{id}`."""
    payload = body if isinstance(body, dict) else {}
    if status == HTTPStatus.OK:
        value = {
            "id": payload.get("id"),
            "status": payload.get("status"),
            "amount": payload.get("amount"),
        }
        return Completion("ok", value, None)
    return _failed_read(status, payload)


def classify_balance(status: int, body: object) -> Completion:
    """The completion of `GET /v1/balance`: available and pending per currency."""
    payload = body if isinstance(body, dict) else {}
    if status == HTTPStatus.OK:
        value = {
            part: {entry["currency"]: entry["amount"] for entry in payload.get(part, [])}
            for part in ("available", "pending")
        }
        return Completion("ok", value, None)
    return _failed_read(status, payload)


def _failed_read(status: int, payload: dict) -> Completion:
    error = _error_of(payload)
    code = error.get("code") or error.get("type") or f"http_{status}"
    if indeterminate(status):
        return Completion("info", {"http_status": status}, code)
    return Completion("fail", {"http_status": status}, code)
