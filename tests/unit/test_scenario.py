import textwrap

import pytest

from scenarios.cli import main
from scenarios.scenario import KillFault, ScenarioError, ToxicFault, load_scenario

KNOWN = frozenset({"no_double_charge", "no_lost_write", "liveness"})


def _write(tmp_path, text):
    path = tmp_path / "scenario.yaml"
    path.write_text(textwrap.dedent(text))
    return str(path)


VALID = """\
    name: small
    seed: 3
    workload: {clients: 2, rate_per_s: 4, duration_s: 5}
    faults:
      - {name: slow, at_s: 1, duration_s: 2, toxic: {link: network, type: latency,
         attributes: {latency: 100}}}
      - {name: crash, at_s: 2, kill: {service: api}}
    invariants: [no_double_charge, liveness]
"""


def test_bundled_baseline_loads():
    scenario = load_scenario("baseline", known_invariants=KNOWN)
    assert scenario.name == "baseline"
    assert {type(step.action) for step in scenario.faults} == {ToxicFault, KillFault}


def test_defaults_are_filled_in(tmp_path):
    scenario = load_scenario(_write(tmp_path, VALID), known_invariants=KNOWN)
    assert scenario.faults[0].action.stream == "downstream"
    assert scenario.faults[1].action.restart_after_s == 1.0
    assert scenario.workload.retry.attempts_max == 10


def test_unknown_scenario_names_the_bundled_ones():
    with pytest.raises(ScenarioError, match=r"unknown scenario 'nope'.*baseline"):
        load_scenario("nope")


def test_missing_file():
    with pytest.raises(ScenarioError, match="not found"):
        load_scenario("/nonexistent/dir/x.yaml")


def test_unparsable_yaml_names_the_line(tmp_path):
    with pytest.raises(ScenarioError, match=r"line \d+.*unparsable YAML"):
        load_scenario(_write(tmp_path, "name: [unclosed\nseed: 1\n"))


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("clients: 2", "clients: 0", r"workload\.clients: 0 is less than the minimum"),
        ("link: network", "link: nowhere", r"faults\[0\]\.toxic\.link: 'nowhere' is not one of"),
        ("seed: 3", "seed: three", r"seed: 'three' is not of type 'integer'"),
        ("name: crash", "name: slow", "name 'slow' is used twice"),
        ("liveness]", "liveness, no_such_thing]", "unknown 'no_such_thing'"),
        ("duration_s: 2, ", "", r"faults\[0\]: a toxic needs duration_s"),
    ],
)
def test_invalid_values_are_named(tmp_path, old, new, message):
    assert old in VALID
    with pytest.raises(ScenarioError, match=message):
        load_scenario(_write(tmp_path, VALID.replace(old, new)), known_invariants=KNOWN)


def test_errors_are_one_line(tmp_path):
    with pytest.raises(ScenarioError) as caught:
        load_scenario(_write(tmp_path, "- a list\n- not a mapping\n"))
    assert "\n" not in str(caught.value)


def test_usage_errors_exit_3_not_unknown(capsys):
    with pytest.raises(SystemExit) as caught:
        main(["run", "--no-such-flag"])
    assert caught.value.code == 3
    assert capsys.readouterr().err.count("\n") == 1
