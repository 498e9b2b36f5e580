"""The harness's own reading of the payments API, held equal to the system under test.

The harness judges the system and never imports it; what both sides speak is written on both
sides, and these tests fail when one drifts from the other.
"""

from scenarios.workload.api import AMOUNT_MAX, BALANCE_PATH, CURRENCIES, WRITE_PATHS
from system_under_test.api.app import ROUTES
from system_under_test.api.params import AMOUNT_MAX as SUT_AMOUNT_MAX
from system_under_test.payments.accounts import CURRENCIES as SUT_CURRENCIES

SUT_ROUTES = {(route.method, route.path) for route in ROUTES}


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
