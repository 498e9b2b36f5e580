"""idempotent_replay on hand-written histories: replays repeat one answer, other parameters
are refused, a key runs once; a run without a retried key says it has nothing to check."""

from invariants import Verdict
from invariants.checkers import idempotent_replay as replay
from tests.unit.test_invariants_builders import AMOUNT, clean_run, kinds


def retried_run():
    run = clean_run()
    # k1 retried after a timeout: the retry replays the stored answer.
    run.op("k1", "info")
    run.op("k1", "ok", charge_id="ch_1")
    # k3 (declined) retried: refused again, the same way.
    run.op("k3", "fail", charge_id="ch_3", error="card_declined")
    return run


def test_replays_of_one_answer_are_valid():
    assert retried_run().check(replay.check).verdict is Verdict.VALID


def test_a_run_without_retries_has_nothing_to_check():
    result = clean_run().check(replay.check)
    assert result.verdict is Verdict.UNKNOWN
    assert "no key was sent more than once" in result.error


def test_a_retry_answered_with_another_object_is_caught():
    run = retried_run()
    run.op("k2", "ok", charge_id="ch_99", replayed=False)
    result = run.check(replay.check)
    assert kinds(result) == ["replay_differs", "key_ran_twice"]
    assert "ch_99" in result.anomalies[0].message


def test_other_parameters_answered_ok_are_caught():
    run = retried_run()
    run.op("k2", "ok", charge_id="ch_2", amount=AMOUNT + 1)
    result = run.check(replay.check)
    assert "other_parameters_accepted" in kinds(result)


def test_other_parameters_refused_are_valid():
    run = retried_run()
    run.op("k2", "fail", amount=AMOUNT + 1, error="idempotency_error")
    assert run.check(replay.check).verdict is Verdict.VALID


def test_two_fresh_answers_of_one_object_are_a_key_run_twice():
    run = retried_run()
    run.op("k2", "ok", charge_id="ch_2", replayed=False)
    assert kinds(run.check(replay.check)) == ["key_ran_twice"]
