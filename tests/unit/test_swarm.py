import hashlib
import json
import textwrap

import pytest

from faults.kinds import RANDOM_NEMESIS_KINDS
from faults.swarm import random_faults, swarm_mix
from scenarios.scenario import ScenarioError, load_scenario

CONFIG = {
    "kinds": list(RANDOM_NEMESIS_KINDS),
    "faults": {"min": 3, "max": 8},
    "start_s": {"min": 1, "max": 20},
    "duration_s": {"min": 1, "max": 4},
}


def test_one_seed_one_schedule_another_seed_another():
    assert random_faults(CONFIG, 7) == random_faults(CONFIG, 7)
    assert random_faults(CONFIG, 7) != random_faults(CONFIG, 8)


def test_seeds_draw_different_mixes_of_kinds():
    import random

    mixes = {
        tuple(swarm_mix(list(RANDOM_NEMESIS_KINDS), random.Random(seed))) for seed in range(40)
    }
    assert len(mixes) > 10
    assert all(mixes)


def _scenario(tmp_path, nemesis: str) -> str:
    path = tmp_path / "random.yaml"
    path.write_text(
        textwrap.dedent(
            """\
            name: random-test
            seed: 3
            workload: {clients: 2, rate_per_s: 4, duration_s: 30}
            invariants: [liveness]
            """
        )
        + nemesis
    )
    return str(path)


NEMESIS = """\
nemesis:
  random:
    kinds: [toxic, kill, pause, partition]
    faults: {min: 3, max: 6}
    start_s: {min: 1, max: 20}
    duration_s: {min: 1, max: 3}
"""


def test_the_random_nemesis_is_validated_like_written_faults(tmp_path):
    path = _scenario(tmp_path, NEMESIS)
    first = load_scenario(path, seed=11)
    assert first.faults == load_scenario(path, seed=11).faults
    assert first.faults != load_scenario(path, seed=12).faults
    assert {step.kind for step in first.faults} <= {"toxic", "kill", "pause", "partition"}
    assert all(step.name.startswith("random-") for step in first.faults)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("max: 20", "max: 30", "start_s: max is not before the workload ends"),
        ("min: 3, max: 6", "min: 7, max: 6", "faults: min 7 > max 6"),
        ("kinds: [toxic", "kinds: [failover", "'failover' is not one of"),
        ("kinds:", "kindz:", "'kindz' was unexpected"),
    ],
)
def test_bad_random_nemesis_settings_are_named(tmp_path, old, new, message):
    with pytest.raises(ScenarioError, match=message):
        load_scenario(_scenario(tmp_path, NEMESIS.replace(old, new)))


def test_a_seed_replays_the_schedule_it_drew_before_the_kinds_drew_their_own_parameters():
    # The digest of seeds 0..19 under CONFIG as the nemesis's own tables drew them: a change
    # of the order of draws would give every recorded seed another schedule.
    schedules = [random_faults(CONFIG, seed) for seed in range(20)]
    digest = hashlib.sha256(json.dumps(schedules, sort_keys=True).encode()).hexdigest()
    assert digest == "6fcd2353df2ba625d79c095aff5e1355577ce7e85e368e7af6ee19fad1ff069a"
