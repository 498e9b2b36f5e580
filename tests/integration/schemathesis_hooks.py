"""Schemathesis's reading of this API's refusals (loaded by tests/integration/test_openapi_fuzz.py
through SCHEMATHESIS_HOOKS).

The OpenAPI document says exactly what the API accepts, but a request the document calls valid
may still be refused on the system's state: a card the network declines (402, a card error),
an object that does not exist (a cursor: 400 `resource_missing`), a balance or a charge that
does not cover the amount, an Idempotency-Key first used with other parameters. And one rule
OpenAPI cannot say of two query parameters, which the document says in words: a list takes at
most one cursor.
Schemathesis's `positive_data_acceptance` is told to let 400 and 402 pass, and this check lets
them pass only for those refusals: any other 400 to a schema-valid request is a hole in the
document.
"""

import schemathesis

from system_under_test.payments.errors import CARD_ERROR, IDEMPOTENCY_ERROR, StripeError

# The refusals that depend on the system's state, not on the request.
STATE_REFUSALS = frozenset(
    error.code
    for error in (
        StripeError.NO_SUCH_CURSOR,
        StripeError.BALANCE_INSUFFICIENT,
        StripeError.REFUND_TOO_LARGE,
        StripeError.CHARGE_ALREADY_REFUNDED,
        StripeError.CHARGE_NOT_REFUNDABLE,
    )
)
# The whole error of a list given both cursors.
CURSORS_BOTH = StripeError.CURSORS_BOTH.answer(param="ending_before").body["error"]
CARD_FAILURE_STATUS = 402
REFUSED_STATUS = 400


@schemathesis.check
def schema_valid_request_refused_on_state_only(ctx, response, case) -> bool | None:
    """A schema-valid request answered 400 or 402 was refused on the system's state."""
    if case.meta is None or not case.meta.generation.mode.is_positive:
        return None
    if response.status_code not in (REFUSED_STATUS, CARD_FAILURE_STATUS):
        return None
    error = response.json().get("error", {})
    if response.status_code == CARD_FAILURE_STATUS:
        assert error.get("type") == CARD_ERROR, f"a 402 that is not a card error: {error}"
    elif error.get("type") != IDEMPOTENCY_ERROR and error != CURSORS_BOTH:
        assert error.get("code") in STATE_REFUSALS, f"schema-valid request refused: {error}"
    return None
