import pytest

from system_under_test.config import (
    LOCK_TTL_ENV,
    NETWORK_TIMEOUT_ENV,
    NETWORK_TTL_ENV,
    NETWORK_URL_ENV,
    PRIMARY_DSN_ENV,
    REPLICA_DSN_ENV,
    TEST_MODE_ENV,
    ConfigError,
    service_config,
)
from system_under_test.defects import DEFECTS_ENV


@pytest.fixture
def environment(monkeypatch):
    for name in (REPLICA_DSN_ENV, TEST_MODE_ENV, DEFECTS_ENV, LOCK_TTL_ENV, NETWORK_TTL_ENV):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(PRIMARY_DSN_ENV, "postgresql+asyncpg://postgres@127.0.0.1:1/paychaos")
    monkeypatch.setenv(NETWORK_URL_ENV, "http://127.0.0.1:2")
    return monkeypatch


def test_defaults(environment):
    config = service_config()
    assert (config.test_mode, config.defects, config.lock_ttl_s) == (False, frozenset(), 15.0)
    assert not config.asynchronous_commit


def test_defects_need_test_mode(environment):
    environment.setenv(DEFECTS_ENV, "no-row-lock")
    with pytest.raises(ConfigError, match="needs test mode"):
        service_config()
    environment.setenv(TEST_MODE_ENV, "1")
    assert service_config().defects == {"no-row-lock"}


def test_ack_before_commit_makes_commits_asynchronous(environment):
    environment.setenv(TEST_MODE_ENV, "1")
    environment.setenv(DEFECTS_ENV, "ack-before-commit")
    assert service_config().asynchronous_commit


def test_balance_from_replica_needs_a_replica(environment):
    environment.setenv(TEST_MODE_ENV, "1")
    environment.setenv(DEFECTS_ENV, "balance-from-replica")
    with pytest.raises(ConfigError, match="needs a replica"):
        service_config()


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        (LOCK_TTL_ENV, "soon", "not a number"),
        (LOCK_TTL_ENV, "-1", "positive"),
        (NETWORK_TTL_ENV, "nan", "positive"),
        (NETWORK_TIMEOUT_ENV, "9", "must be below"),
    ],
)
def test_bad_settings_are_named(environment, name, value, message):
    environment.setenv(name, value)
    with pytest.raises(ConfigError, match=message) as caught:
        service_config()
    assert name in str(caught.value)
