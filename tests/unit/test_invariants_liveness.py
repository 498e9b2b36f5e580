"""liveness: unknown (never invalid) unless work was done, faults confirmed, reads complete."""

from invariants import Verdict
from invariants.checkers import liveness
from tests.unit.test_invariants_builders import STEP_NS, Run, clean_run, kinds


def test_liveness_is_valid_when_work_was_done_and_faults_confirmed():
    run = clean_run()
    run.fault("network-timeout-1", 0, STEP_NS)

    result = run.check(liveness.check)

    assert result.verdict is Verdict.VALID


def test_liveness_is_unknown_without_an_ok_op():
    run = Run()
    run.op("k1", "info")
    run.op("k2", "fail", error="card_declined")

    result = run.check(liveness.check)

    assert result.verdict is Verdict.UNKNOWN
    assert kinds(result) == ["no_ok_charge"]


def test_liveness_is_unknown_for_an_empty_history():
    result = Run().check(liveness.check)

    assert result.verdict is Verdict.UNKNOWN
    assert kinds(result) == ["empty_history"]


def test_liveness_is_unknown_when_a_fault_is_unconfirmed_or_never_stopped():
    run = clean_run()
    run.fault("network-timeout-1", 0, STEP_NS, confirmed=False)
    run.fault("api-kill-1", STEP_NS, None)

    result = run.check(liveness.check)

    assert result.verdict is Verdict.UNKNOWN
    assert kinds(result) == ["fault_unconfirmed", "fault_never_stopped"]
    assert [anomaly.evidence["fault_name"] for anomaly in result.anomalies] == [
        "network-timeout-1",
        "api-kill-1",
    ]


def test_liveness_is_unknown_when_final_reads_are_incomplete():
    run = clean_run()
    run.errors = ["pg-primary: timeout"]

    result = run.check(liveness.check)

    assert result.verdict is Verdict.UNKNOWN
    assert kinds(result) == ["final_state_incomplete"]
    assert "pg-primary: timeout" in result.anomalies[0].message


def test_liveness_never_says_invalid():
    run = Run()
    run.complete = False
    run.fault("network-timeout-1", 0, None)

    assert run.check(liveness.check).verdict is Verdict.UNKNOWN
