"""The processes the harness starts refuse to start with the harness's own error code.

They cannot import `reports` (the system under test never imports the harness; the proxy stays
light), so each names its code and these tests hold it equal to the harness's.
"""

from faults.proxy.__main__ import EXIT_CANNOT_LISTEN
from reports.exit_codes import EXIT_HARNESS_ERROR
from system_under_test.config import EXIT_START_REFUSED


def test_a_service_that_refuses_to_start_exits_with_the_harness_error_code():
    assert EXIT_START_REFUSED == EXIT_HARNESS_ERROR


def test_a_proxy_that_cannot_listen_exits_with_the_harness_error_code():
    assert EXIT_CANNOT_LISTEN == EXIT_HARNESS_ERROR
