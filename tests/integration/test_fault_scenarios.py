"""A short run of each bundled fault scenario (scenarios/files/, on the short clock of
conftest.short_scenario): valid on the correct system, with every fault confirmed."""

import pytest

from scenarios.scenario import SCENARIO_DIRECTORY
from tests.integration.conftest import assert_nothing_left, paychaos

pytestmark = pytest.mark.integration

# Run elsewhere, with more checks: the baseline (test_campaign.py) and the storm
# (test_retry_storm.py). Two serve the defect matrix only (`paychaos mutants`): debit-race
# injects no fault, and primary-crash's restarts of the primary need its whole clock.
RUN_ELSEWHERE = {"baseline", "retry-storm", "debit-race", "primary-crash"}
SHORT = sorted(
    path.stem for path in SCENARIO_DIRECTORY.glob("*.yaml") if path.stem not in RUN_ELSEWHERE
)


@pytest.mark.parametrize("name", SHORT)
def test_a_short_run_of_each_scenario_is_valid_with_every_fault_confirmed(
    runs_dir, short_scenarios, name
):
    result = paychaos("run", str(short_scenarios(name)), runs_dir=runs_dir / name)
    assert result.exit_code == 0, result.stdout + result.stderr
    report = result.report()
    assert report["verdict"] == "valid"
    assert report["faults"], "a fault scenario injected nothing"
    unconfirmed = [fault["name"] for fault in report["faults"] if fault["confirmed"] is not True]
    assert unconfirmed == []
    assert report["stats"]["ops"]["charge"]["ok"] > 0
    assert_nothing_left(result.run_dir)
