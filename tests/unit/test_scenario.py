import textwrap

import pytest

import invariants
from scenarios.cli import main
from scenarios.scenario import RetryPolicy, ScenarioError, load_scenario

KNOWN = frozenset(invariants.CHECKERS)


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
    assert {step.kind for step in scenario.faults} == {"toxic", "kill"}


def test_defaults_are_filled_in(tmp_path):
    scenario = load_scenario(_write(tmp_path, VALID), known_invariants=KNOWN)
    assert scenario.faults[0].params["attributes"] == {"latency": 100}
    assert scenario.faults[1].params == {"service": "api"}
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
        # A typo in a toxic attribute, and an attribute the toxic does not have.
        ("latency: 100}", "latncy: 100}", r"toxic\.attributes: .*'latncy' was unexpected"),
        ("latency: 100}", "latency: 100, bogus: 1}", r"'bogus' was unexpected"),
        ("latency: 100}", "latency: -5}", r"-5 is less than the minimum of 0"),
        ("latency: 100}", "latency: '100'}", r"'100' is not of type 'integer'"),
        ("latency: 100}", "latency: 100, jitter: 200}", r"jitter: larger than latency"),
        ("type: latency", "type: noop", r"'noop' is not one of"),
        ("service: api}", "service: api, restart_after_s: -1}", r"less than the minimum"),
        ("at_s: 2, kill", "at_s: 2, duration_s: 3, kill", r"a kill takes no duration_s"),
        ("at_s: 1, duration_s", "at_s: 9, duration_s", r"at_s: 9.* not before the workload ends"),
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


OVERLAPPING_KILLS = """\
    name: overlapping
    seed: 3
    workload: {clients: 2, rate_per_s: 4, duration_s: 20}
    faults:
      - {name: first, at_s: 1, kill: {service: api, restart_after_s: 5}}
      - {name: second, at_s: 3, kill: {service: api}}
    invariants: [liveness]
"""


def test_two_kills_of_one_service_at_once_are_refused(tmp_path):
    with pytest.raises(
        ScenarioError, match=r"faults\[1\]: kill of api at 3.* overlaps faults\[0\]"
    ):
        load_scenario(_write(tmp_path, OVERLAPPING_KILLS), known_invariants=KNOWN)


STORM = """\
    name: storm
    seed: 3
    workload:
      clients: 2
      rate_per_s: 4
      duration_s: 5
      retry: {mode: storm, timeout_s: 0.5, concurrency_multiple: 4, attempts_max: 40}
    invariants: [no_double_charge]
"""


def test_bundled_retry_storm_loads_as_a_storm_under_a_late_network():
    scenario = load_scenario("retry-storm", known_invariants=KNOWN)
    retry = scenario.workload.retry
    assert (retry.mode, retry.timeout_s, retry.concurrency_multiple) == ("storm", 0.5, 4)
    assert scenario.workload.attempt_timeout_s == 0.5
    latency = [step.params for step in scenario.faults if step.kind == "toxic"]
    assert latency and latency[0]["attributes"]["latency"] > 1000 * retry.timeout_s


def test_retry_modes_load_with_their_defaults(tmp_path):
    storm = load_scenario(_write(tmp_path, STORM), known_invariants=KNOWN).workload
    assert storm.retry == RetryPolicy(
        mode="storm", timeout_s=0.5, concurrency_multiple=4, attempts_max=40
    )
    assert storm.attempt_timeout_s == 0.5
    careless_text = STORM.replace(
        "{mode: storm, timeout_s: 0.5, concurrency_multiple: 4, attempts_max: 40}",
        "{mode: careless}",
    )
    careless = load_scenario(_write(tmp_path, careless_text), known_invariants=KNOWN).workload
    assert (careless.retry.timeout_s, careless.retry.concurrency_multiple) == (0.5, 1)
    assert careless.retry.new_key_per_attempt
    backoff = load_scenario(_write(tmp_path, VALID), known_invariants=KNOWN).workload
    assert (backoff.retry.mode, backoff.attempt_timeout_s) == ("backoff", 10.0)
    assert not backoff.retry.new_key_per_attempt


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("mode: storm", "mode: tornado", r"workload\.retry\.mode: 'tornado' is not one of"),
        ("timeout_s: 0.5", "timeout_s: 0", r"workload\.retry\.timeout_s: 0 is less than or equal"),
        ("timeout_s: 0.5", "timeout_s: 61", r"workload\.retry\.timeout_s: 61 is greater"),
        (
            "concurrency_multiple: 4",
            "concurrency_multiple: 0",
            r"workload\.retry\.concurrency_multiple: 0 is less than the minimum",
        ),
        (
            "concurrency_multiple: 4",
            "concurrency_multiple: 17",
            r"workload\.retry\.concurrency_multiple: 17 is greater than the maximum",
        ),
        (
            "concurrency_multiple: 4",
            "concurrency_multipel: 4",
            r"workload\.retry: .*'concurrency_multipel' was unexpected",
        ),
        (
            "attempts_max: 40",
            "attempts_max: 3",
            r"workload\.retry\.attempts_max: 3 is fewer than concurrency_multiple 4",
        ),
        (
            "attempts_max: 40}",
            "attempts_max: 40, backoff_s: 1}",
            r"workload\.retry\.backoff_s: mode storm retries at once, without backoff",
        ),
        (
            "retry: {",
            "request_timeout_s: 2\n      retry: {",
            r"workload\.request_timeout_s: mode storm times requests out at retry\.timeout_s",
        ),
        (
            "mode: storm, timeout_s: 0.5, ",
            "",
            r"workload\.retry\.concurrency_multiple: only modes storm and careless take it",
        ),
        (
            "mode: storm, ",
            "",
            r"workload\.retry\.timeout_s: only modes storm and careless take it",
        ),
    ],
)
def test_bad_retry_settings_are_refused_naming_the_key(tmp_path, old, new, message):
    assert old in STORM
    with pytest.raises(ScenarioError, match=message):
        load_scenario(_write(tmp_path, STORM.replace(old, new)), known_invariants=KNOWN)
