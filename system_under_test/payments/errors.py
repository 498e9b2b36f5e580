"""Every error the API answers, as one table: name -> Stripe type, code, HTTP status,
`Stripe-Should-Retry` and message template.

Code answers an error by naming its entry (`StripeError.PARAMETER_MISSING.answer(param=...)`),
never by a bare status or type; the OpenAPI document derives its error statuses and types from
the table, and the harness's own reading of these answers is held equal to it by a test.

>>> StripeError.PARAMETER_MISSING.answer(param="amount").body
{'error': {'type': 'invalid_request_error', 'message': 'Missing required param: amount.', \
'code': 'parameter_missing', 'param': 'amount'}}
"""

from collections.abc import Mapping
from enum import Enum, unique
from typing import Any

from system_under_test.payments.wire import Answer

API_ERROR = "api_error"
CARD_ERROR = "card_error"
IDEMPOTENCY_ERROR = "idempotency_error"
INVALID_REQUEST_ERROR = "invalid_request_error"

# Each entry: (type, code, status, should_retry, message template). A code of None is no code,
# except where the answer supplies it (a failed charge's code); a status of None is the web
# framework's own; a should_retry of None leaves the Stripe-Should-Retry header out. Templates
# are `str.format` strings; `{param}` is the parameter the answer names.
Entry = tuple[str, str | None, int | None, bool | None, str]


def _invalid(code: str | None, template: str, *, status: int | None = 400) -> Entry:
    """A refused request: an `invalid_request_error` that retrying cannot cure."""
    return (INVALID_REQUEST_ERROR, code, status, False, template)


def _key_in_use(template: str) -> Entry:
    """Another request holds the key, or took it over: a retry with the key may pass later."""
    return (IDEMPOTENCY_ERROR, "idempotency_key_in_use", 409, True, template)


def _server(template: str, *, status: int | None = 500, should_retry: bool = True) -> Entry:
    """An `api_error`: the server failed; a retry may pass unless `should_retry` says not."""
    return (API_ERROR, None, status, should_retry, template)


@unique
class StripeError(Enum):
    """One error answer of the API; the members are the whole table."""

    # Parameters refused before anything is written.
    FORM_UNREADABLE = _invalid(
        "parameter_invalid", "The request body is not a valid form: {reason}"
    )
    PARAMETER_UNSTORABLE = _invalid("parameter_invalid", "Parameter {param} {problem}.")
    PARAMETER_UNSUPPORTED = _invalid(
        None, "{param} is a Stripe parameter that this system does not implement."
    )
    PARAMETER_UNKNOWN = _invalid("parameter_unknown", "Received unknown parameter: {param}")
    PARAMETER_MISSING = _invalid("parameter_missing", "Missing required param: {param}.")
    INTEGER_INVALID = _invalid("parameter_invalid_integer", "Invalid positive integer: {text!r}")
    AMOUNT_TOO_LARGE = _invalid("amount_too_large", "Amount must be no more than {maximum}.")
    AMOUNT_TOO_SMALL = _invalid("amount_too_small", "Amount must be at least {minimum}.")
    CURRENCY_INVALID = _invalid("parameter_invalid", "Invalid currency: {text!r}")
    METADATA_NAME_INVALID = _invalid("parameter_invalid", "Invalid metadata parameter: {param}")
    METADATA_KEY_LENGTH = _invalid(
        "parameter_invalid", "Metadata keys are 1 to {maximum} characters."
    )
    METADATA_VALUE_LENGTH = _invalid(
        "parameter_invalid", "Metadata values are at most {maximum} characters."
    )
    METADATA_KEYS_TOO_MANY = _invalid("parameter_invalid", "Metadata has at most {maximum} keys.")
    DESCRIPTION_TOO_LONG = _invalid(
        "parameter_invalid", "description is at most {maximum} characters."
    )
    CARD_UNKNOWN = _invalid("parameter_invalid", "No such token or card number: {text!r}")
    # Refused before the network hears of it, as Stripe does: a card error, not a decline.
    CARD_NUMBER_INCORRECT = (
        CARD_ERROR,
        "incorrect_number",
        402,
        False,
        "Your card number is incorrect.",
    )
    CAPTURE_UNSUPPORTED = _invalid(
        None,
        "capture=false (authorize now, capture later) is not implemented by this system.",
    )
    BOOLEAN_INVALID = _invalid("parameter_invalid", "Invalid boolean: {text!r}")
    LIMIT_INVALID = _invalid("parameter_invalid", "limit must be an integer from 1 to {maximum}")
    CURSORS_BOTH = _invalid(
        "parameter_invalid",
        "You may only specify one of these parameters: starting_after, ending_before.",
    )
    OBJECT_ID_INVALID = _invalid("parameter_invalid", "Invalid object id: {text!r}")
    IDEMPOTENCY_KEY_INVALID = _invalid("parameter_invalid", "Idempotency-Key {problem}")
    # An object that does not exist (or is another merchant's), and a cursor that names none.
    NO_SUCH_OBJECT = _invalid("resource_missing", "No such {noun}: {shown}", status=404)
    NO_SUCH_CURSOR = _invalid("resource_missing", "No such {noun}: {shown}", status=400)
    # API keys.
    API_KEY_UNREADABLE = _invalid(
        None, "Invalid API Key provided: it is not valid UTF-8 text", status=401
    )
    API_KEY_MISSING = _invalid(
        None,
        "You did not provide an API key. Use 'Authorization: Bearer YOUR_SECRET_KEY', or HTTP "
        "Basic auth with the key as the user name.",
        status=401,
    )
    API_KEY_INVALID = _invalid(None, "Invalid API Key provided: {masked}", status=401)
    # Idempotency keys: other parameters are refused; a key in use may be retried.
    IDEMPOTENCY_PARAMETERS_DIFFER = (
        IDEMPOTENCY_ERROR,
        None,
        400,
        False,
        "Keys for idempotent requests can only be used with the same parameters they were "
        "first used with.",
    )
    IDEMPOTENCY_KEY_IN_USE = _key_in_use(
        "There is currently another in-progress request using this Idempotency-Key. Retry later."
    )
    IDEMPOTENCY_SUPERSEDED = _key_in_use(
        "This request was superseded by a later request with the same key: its own writes "
        "were rolled back, and whatever it had sent is resolved by look-up."
    )
    OBJECT_STILL_RESOLVING = _key_in_use(
        "The {movement} {object_id} of this Idempotency-Key is still being resolved. Retry later."
    )
    # Movements refused on the system's own state.
    CHARGE_NOT_REFUNDABLE = _invalid(
        "charge_not_refundable",
        "Charge {charge_id} did not succeed; only a succeeded charge can be refunded.",
    )
    CHARGE_ALREADY_REFUNDED = _invalid(
        "charge_already_refunded", "Charge {charge_id} has already been refunded."
    )
    REFUND_TOO_LARGE = _invalid(
        "amount_too_large",
        "Refund amount ({wanted}) is greater than unrefunded amount on charge ({remainder}).",
    )
    BALANCE_INSUFFICIENT = _invalid(
        "balance_insufficient",
        "The available balance ({available}) does not cover this amount ({wanted}).",
    )
    # A charge the network declined or could not process: stored and replayed as it is, so
    # without the header; its code is the charge's failure code.
    CHARGE_FAILED = (CARD_ERROR, None, 402, None, "{failure_message}")
    OUTCOME_UNKNOWN = _server(
        "The outcome of {movement} {object_id} is not known yet; retry with the same "
        "Idempotency-Key.",
        status=502,
    )
    # What the web framework refuses (no such route, a method not allowed, a body too large):
    # retrying the same request cannot help. And its own server errors, which may pass.
    REQUEST_REFUSED = _invalid(None, "{reason}", status=None)
    SERVER_ERROR = _server("{reason}", status=None)
    # The database or the network failed under the request: a retry may pass.
    DATABASE_UNAVAILABLE = _server("An error occurred with our connection to the database.")
    FAILPOINT = _server("{failpoint}")
    # A bug: the same request would meet it again.
    INTERNAL_ERROR = _server(
        "An internal error occurred; retrying this request will not help.", should_retry=False
    )

    def __init__(
        self,
        error_type: str,
        code: str | None,
        status: int | None,
        should_retry: bool | None,
        template: str,
    ) -> None:
        self.error_type = error_type
        self.code = code
        self.status = status
        self.should_retry = should_retry
        self.template = template

    def body(
        self,
        *,
        param: str | None = None,
        code: str | None = None,
        extra: Mapping[str, Any] | None = None,
        **fields: object,
    ) -> dict[str, Any]:
        """Stripe's error object: type, message, code, then `param` and `extra` when given.

        `code` is given only for an entry whose code the answer supplies.
        """
        assert code is None or self.code is None, f"{self.name} has its own code"
        error: dict[str, Any] = {
            "type": self.error_type,
            "message": self.template.format(param=param, **fields),
        }
        if (code or self.code) is not None:
            error["code"] = code or self.code
        if param:
            error["param"] = param
        error.update(extra or {})
        return {"error": error}

    def answer(
        self, *, param: str | None = None, status: int | None = None, **fields: object
    ) -> Answer:
        """This error's answer, its message filled with `fields` and naming `param`.

        `status` is given only for an entry whose status is the web framework's.
        """
        assert (status is None) != (self.status is None), f"{self.name}: status {status}"
        return Answer(
            status or self.status,
            self.body(param=param, **fields),
            should_retry=self.should_retry,
        )
