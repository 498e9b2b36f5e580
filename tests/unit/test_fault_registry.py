"""The fault-kind registry: every kind's facts in its module, and each fact usable by the
scenario loader, the random nemesis and a stateful test alike."""

import random

import jsonschema
import pytest

from faults.kinds import KINDS, RANDOM_NEMESIS_KINDS, kind_of
from faults.proxy.toxics import ATTRIBUTE_MINIMUM

SEEDS = range(200)


@pytest.mark.parametrize("name", sorted(KINDS))
def test_what_a_kind_draws_its_schema_and_its_check_accept(name):
    kind = KINDS[name]
    validator = jsonschema.Draft202012Validator(kind.schema)
    for seed in SEEDS:
        params = kind.draw(random.Random(seed))
        assert list(validator.iter_errors(params)) == [], (seed, params)
        assert kind.check(params) is None, (seed, params)
        assert isinstance(kind.target(params), str)


@pytest.mark.parametrize("name", sorted(KINDS))
def test_a_kind_names_its_facts(name):
    kind = KINDS[name]
    assert kind.name == name
    assert "local" in kind.backends
    assert kind_of({"name": "step", "at_s": 1, name: {}}) == name
    for key, schema in kind.schema["properties"].items():
        if "default" in schema:
            assert jsonschema.Draft202012Validator(schema).is_valid(schema["default"]), key


def test_the_random_nemesis_draws_from_the_kinds_that_say_it_may():
    assert set(RANDOM_NEMESIS_KINDS) == {
        "kill",
        "partition",
        "pause",
        "replica_lag",
        "restart",
        "toxic",
    }


def test_a_toxic_takes_its_attribute_minimums_from_the_proxy():
    validator = jsonschema.Draft202012Validator(KINDS["toxic"].schema)
    for (toxic_type, attribute), minimum in ATTRIBUTE_MINIMUM.items():
        params = {"link": "api", "type": toxic_type, "attributes": {attribute: minimum - 1}}
        assert not validator.is_valid(params)
        assert validator.is_valid({**params, "attributes": {attribute: minimum}})


def test_a_paused_replay_is_refused_under_sync_replication_by_its_kind():
    params = {"mode": "pause_replay"}
    assert KINDS["replica_lag"].check(params, replication="async") is None
    assert "would hold every commit" in KINDS["replica_lag"].check(params, replication="sync")
