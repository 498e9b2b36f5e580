"""One rule shortens a scenario: what its schemas mark as on the run's clock or its rate."""

import pytest
import yaml

from scenarios.scaling import scaled
from scenarios.scenario import SCENARIO_DIRECTORY, load_scenario

BUNDLED = sorted(path.stem for path in SCENARIO_DIRECTORY.glob("*.yaml"))


def _bundled(name: str) -> dict:
    return yaml.safe_load((SCENARIO_DIRECTORY / f"{name}.yaml").read_text())


@pytest.mark.parametrize("name", BUNDLED)
def test_every_bundled_scenario_scaled_is_still_a_valid_scenario(tmp_path, name):
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(scaled(_bundled(name), clock=0.4, rate=0.75)))
    short, bundled = load_scenario(str(path)), load_scenario(name)
    assert short.workload.duration_s == pytest.approx(0.4 * bundled.workload.duration_s)
    assert short.workload.rate_per_s == pytest.approx(0.75 * bundled.workload.rate_per_s)
    assert short.workload.clients == bundled.workload.clients
    assert short.workload.retry == bundled.workload.retry


def test_times_on_the_clock_scale_and_effects_do_not():
    short = scaled(_bundled("partition-db"), clock=0.5)
    flapping = short["faults"][3]
    assert (flapping["at_s"], flapping["duration_s"]) == (10.5, 3.0)
    assert flapping["partition"]["flapping"]["down"] == {"min_ms": 150, "max_ms": 450}
    storm = scaled(_bundled("retry-storm"), clock=0.5)
    assert storm["faults"][0]["toxic"]["attributes"] == {"latency": 1200}
    assert storm["workload"]["retry"] == _bundled("retry-storm")["workload"]["retry"]
    crash = scaled(_bundled("crash-mid-processing"), clock=0.5)
    assert [fault["failpoint"] for fault in crash["faults"]] == [
        fault["failpoint"] for fault in _bundled("crash-mid-processing")["faults"]
    ]


def test_a_random_nemesis_keeps_its_density_of_faults_in_whole_numbers():
    nemesis = scaled(_bundled("random"), clock=0.4)["nemesis"]["random"]
    assert nemesis["faults"] == {"min": 2, "max": 3}
    assert nemesis["start_s"] == {"min": 0.4, "max": 9.6}
