"""Scenario files the loader must refuse before anything starts: numbers that are not finite,
YAML aliases, oversized or deeply nested files, and files that are no scenario at all; every
error names the key path or the place and quotes at most a short excerpt."""

import math
import re
import time

import pytest

from scenarios.scenario import ScenarioError, load_scenario
from scenarios.scenario_document import (
    NESTING_DEPTH_MAX,
    SCENARIO_BYTES_MAX,
    non_finite_problem,
)
from tests.unit.test_scenario import VALID, _write


@pytest.mark.parametrize(
    ("original", "replacement", "where"),
    [
        ("duration_s: 5}", "duration_s: .nan}", "workload.duration_s"),
        ("rate_per_s: 4,", "rate_per_s: .inf,", "workload.rate_per_s"),
        ("at_s: 2,", "at_s: .nan,", "faults[1].at_s"),
        ("latency: 100", "latency: -.inf", "faults[0].toxic.attributes.latency"),
    ],
)
def test_a_number_that_is_not_finite_is_refused_with_its_key_path(
    tmp_path, original, replacement, where
):
    text = VALID.replace(original, replacement)
    assert replacement in text
    with pytest.raises(ScenarioError, match=rf": {re.escape(where)}: .* not a finite number"):
        load_scenario(_write(tmp_path, text))


def test_the_finite_check_walks_every_list_and_mapping():
    assert non_finite_problem({"a": [1, {"b": 2.5}]}) is None
    assert non_finite_problem({"a": [1, {"b": math.nan}]}) == "a[1].b: nan is not a finite number"
    assert non_finite_problem([math.inf]) == "[0]: inf is not a finite number"


def test_a_yaml_alias_is_refused_at_once_naming_its_line(tmp_path):
    # Seven levels of nine aliases each: 9**7 strings once expanded, all in one value.
    lines = ["name: bomb", "seed: 1", "description:", '  - &a0 ["lol"]']
    for level in range(1, 8):
        lines.append(f"  - &a{level} [" + ", ".join([f"*a{level - 1}"] * 9) + "]")
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text("\n".join(lines) + "\n")
    started = time.monotonic()
    with pytest.raises(ScenarioError, match=r"bomb.yaml: line 5 column \d+: .*alias"):
        load_scenario(str(bomb))
    # Far below what expanding it took (seconds to minutes), with room for a loaded machine.
    assert time.monotonic() - started < 10


def test_a_merge_key_is_an_alias_too(tmp_path):
    text = VALID.replace("seed: 3", "base: &base {clients: 2}\nseed: 3")
    text = text.replace("workload: {clients: 2,", "workload: {<<: *base,")
    with pytest.raises(ScenarioError, match="alias"):
        load_scenario(_write(tmp_path, text))


def test_a_file_over_the_size_limit_is_refused_without_parsing_it(tmp_path):
    big = tmp_path / "big.yaml"
    big.write_bytes(b"# padding\n" * (SCENARIO_BYTES_MAX // 10 + 1))
    with pytest.raises(ScenarioError, match=rf"big.yaml: larger than {SCENARIO_BYTES_MAX} bytes"):
        load_scenario(str(big))


def test_nesting_beyond_the_bound_is_refused(tmp_path):
    deep = tmp_path / "deep.yaml"
    deep.write_text("[" * (NESTING_DEPTH_MAX + 1) + "]" * (NESTING_DEPTH_MAX + 1) + "\n")
    with pytest.raises(ScenarioError, match=rf"nested deeper than {NESTING_DEPTH_MAX}"):
        load_scenario(str(deep))


def test_a_file_that_is_no_scenario_is_not_quoted_whole(tmp_path):
    passwd = tmp_path / "passwd"
    secret = "s3cr3t-in-the-middle"
    passwd.write_text(
        "root:x:0:0:root:/root:/bin/bash\n"
        + "".join(f"user{n}:x:{n}:{n}::/home/user{n}:/bin/sh\n" for n in range(40))
        + f"{secret}:x:99:99::/:/bin/false\n"
    )
    with pytest.raises(ScenarioError) as raised:
        load_scenario(str(passwd))
    message = str(raised.value)
    assert secret not in message
    assert "\n" not in message
    assert len(message) < len(str(passwd)) + 200, message


def test_keys_of_a_file_that_is_no_scenario_are_not_quoted(tmp_path):
    shadow = tmp_path / "shadow"
    shadow.write_text("root:$6$s3cr3th4sh:20228:0:99999:7:::\nbin:*:20228:0:99999:7:::\n")
    with pytest.raises(ScenarioError, match="2 unexpected keys") as raised:
        load_scenario(str(shadow))
    assert "s3cr3t" not in str(raised.value)
    assert "bin:" not in str(raised.value)


def test_a_long_value_in_an_error_is_cut_short(tmp_path):
    text = VALID.replace("name: small", "name: " + "X" * 5000)
    with pytest.raises(ScenarioError, match=r"^.*: name: 'XXX") as raised:
        load_scenario(_write(tmp_path, text))
    assert len(str(raised.value)) < 300
