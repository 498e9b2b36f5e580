"""How the harness reads the payments API's answers: the statuses it tells apart and the
errors that reject one request rather than report a movement's outcome.

The harness never imports the system it judges: this is its own reading of the wire, the one
owner of it on the harness side (the workload's classification and the checkers import it),
held to the system's error table by a test.

>>> indeterminate(409), indeterminate(502), indeterminate(400)
(True, True, False)
"""

from http import HTTPStatus

# A card error: the charge failed, definitely.
CARD_FAILURE_STATUS = HTTPStatus.PAYMENT_REQUIRED
# No such object: a read-back that misses an acknowledged write.
NOT_FOUND_STATUS = HTTPStatus.NOT_FOUND
# Another attempt of the key is in flight: this one cannot know the outcome.
KEY_IN_USE_STATUS = HTTPStatus.CONFLICT
# A server error: the request may or may not have taken effect.
SERVER_ERROR_STATUS_MIN = HTTPStatus.INTERNAL_SERVER_ERROR

# Fail errors that reject the request itself (bad parameters, key reused with other
# parameters, not enough balance, nothing left to refund): nothing was written for that
# attempt, but another attempt of the key may have moved money. Every other fail error reports
# the outcome of the key's movement (a decline, or the network refusing a refund or payout).
REQUEST_REJECTION_ERRORS = frozenset(
    {
        "idempotency_error",
        "invalid_request_error",
        "balance_insufficient",
        "charge_already_refunded",
        "amount_too_large",
        "resource_missing",
        "parameter_unknown",
        "parameter_missing",
    }
)


def indeterminate(status: int) -> bool:
    """Whether an error answer leaves the op's outcome unknown (`info`)."""
    return status == KEY_IN_USE_STATUS or status >= SERVER_ERROR_STATUS_MIN
