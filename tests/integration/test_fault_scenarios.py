"""A short run of each fault-class scenario (tests/integration/short/): valid on the correct
system, with every fault confirmed. The full-length ones (scenarios/files/) run from the CLI."""

import pytest

from tests.integration.conftest import HERE, assert_nothing_left, paychaos

pytestmark = pytest.mark.integration

# The storm has its own module, which checks its storm too (test_retry_storm.py).
RUN_ELSEWHERE = {"retry-storm"}
SHORT = sorted(path for path in (HERE / "short").glob("*.yaml") if path.stem not in RUN_ELSEWHERE)


@pytest.mark.parametrize("scenario", SHORT, ids=[path.stem for path in SHORT])
def test_a_short_run_of_each_scenario_is_valid_with_every_fault_confirmed(runs_dir, scenario):
    result = paychaos("run", str(scenario), runs_dir=runs_dir / scenario.stem)
    assert result.exit_code == 0, result.stdout + result.stderr
    report = result.report()
    assert report["verdict"] == "valid"
    assert report["faults"], "a fault scenario injected nothing"
    unconfirmed = [fault["name"] for fault in report["faults"] if fault["confirmed"] is not True]
    assert unconfirmed == []
    assert report["stats"]["ops"]["charge"]["ok"] > 0
    assert_nothing_left(result.run_dir)
