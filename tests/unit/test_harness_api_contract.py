"""The harness's own reading of the payments API, held equal to the system under test.

The harness judges the system and never imports it; what both sides speak is written on both
sides, and these tests fail when one drifts from the other.
"""

from invariants.api_answers import CARD_FAILURE_STATUS, REQUEST_REJECTION_ERRORS, indeterminate
from scenarios.workload.api import AMOUNT_MAX, BALANCE_PATH, CURRENCIES, WRITE_PATHS
from system_under_test.api.app import ROUTES
from system_under_test.api.params import AMOUNT_MAX as SUT_AMOUNT_MAX
from system_under_test.payments.accounts import CURRENCIES as SUT_CURRENCIES
from system_under_test.payments.errors import StripeError

SUT_ROUTES = {(route.method, route.path) for route in ROUTES}
# The system's refusals that the history reads as the key's definite failure rather than as the
# rejection of one attempt (invariants/outcomes.py): card errors, and parameters the workload
# sends well formed. A new refusal of the system must be put on one side or the other.
READ_AS_FAILURE = frozenset(
    {
        "amount_too_small",
        "charge_not_refundable",
        "incorrect_number",
        "parameter_invalid",
        "parameter_invalid_integer",
    }
)


def test_each_write_kind_is_created_and_read_back_where_the_system_routes_it():
    created = {path for method, path in SUT_ROUTES if method == "POST"}
    assert set(WRITE_PATHS.values()) == created
    for kind, path in WRITE_PATHS.items():
        assert ("GET", f"{path}/{{{kind}_id}}") in SUT_ROUTES


def test_the_balance_is_read_where_the_system_routes_it():
    assert ("GET", BALANCE_PATH) in SUT_ROUTES


def test_the_harness_knows_the_currencies_and_the_amount_ceiling_of_the_system():
    assert CURRENCIES == SUT_CURRENCIES
    assert AMOUNT_MAX == SUT_AMOUNT_MAX


def _history_error(error: StripeError) -> str:
    # The workload records an error answer by its code, else its type.
    return error.code or error.error_type


def _refusals() -> set[str]:
    """What the history may record of the system's definite refusals (a status of None is the
    web framework's refusal of a request, always a 4xx)."""
    return {
        _history_error(error)
        for error in StripeError
        if error.should_retry is False and (error.status is None or error.status < 500)
    }


def test_every_rejection_the_harness_reads_is_a_refusal_of_the_system():
    assert _refusals() >= REQUEST_REJECTION_ERRORS


def test_every_refusal_of_the_system_is_read_one_way_or_the_other():
    assert _refusals() - REQUEST_REJECTION_ERRORS == READ_AS_FAILURE


def test_the_harness_reads_as_unknown_exactly_what_may_have_taken_effect():
    for error in StripeError:
        if error.status is None:
            continue
        may_have_happened = error.should_retry is True or error.status >= 500
        assert indeterminate(error.status) == may_have_happened, error.name


def test_the_harness_reads_the_status_of_a_failed_charge():
    assert StripeError.CHARGE_FAILED.status == CARD_FAILURE_STATUS
    assert StripeError.CARD_NUMBER_INCORRECT.status == CARD_FAILURE_STATUS
