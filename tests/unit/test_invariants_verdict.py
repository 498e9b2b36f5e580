"""Verdicts: combining, result consistency, checkers that raise, running checkers by name."""

import pytest

from invariants import (
    CHECKERS,
    Anomaly,
    InvariantResult,
    RunInputs,
    Verdict,
    check_all,
    combine,
    decide,
    parse_final_state,
    run_checker,
)
from tests.unit.test_invariants_builders import final_document

VALID, INVALID, UNKNOWN = Verdict.VALID, Verdict.INVALID, Verdict.UNKNOWN

EMPTY_RUN = RunInputs([], [], parse_final_state(final_document()))


@pytest.mark.parametrize(
    ("verdicts", "combined"),
    [
        ([VALID, VALID], VALID),
        ([VALID, UNKNOWN], UNKNOWN),
        ([UNKNOWN, INVALID, VALID], INVALID),
        ([INVALID, UNKNOWN], INVALID),
        ([], UNKNOWN),
    ],
)
def test_combine_ranks_invalid_over_unknown_over_valid(verdicts, combined):
    assert combine(verdicts) is combined


def test_decide_follows_anomalies_then_undecided_reason():
    anomaly = Anomaly("multiple_charges", "two charges")

    assert decide("x", [anomaly]).verdict is INVALID
    assert decide("x", [anomaly], undecided_reason="reads incomplete").verdict is INVALID
    assert decide("x", [], undecided_reason="reads incomplete").error == "reads incomplete"
    assert decide("x", []).verdict is VALID


@pytest.mark.parametrize(
    ("verdict", "anomalies", "error"),
    [
        (VALID, (Anomaly("k", "m"),), None),
        (VALID, (), "boom"),
        (INVALID, (), None),
        (UNKNOWN, (), None),
    ],
)
def test_inconsistent_results_are_refused(verdict, anomalies, error):
    with pytest.raises(ValueError, match="x: "):
        InvariantResult("x", verdict, anomalies, error)


def test_result_accepts_verdict_strings():
    assert InvariantResult("x", "valid").verdict is VALID


def test_checker_that_raises_gives_unknown_with_the_exception():
    def broken(run):
        raise KeyError("charge_id")

    result = run_checker("broken", broken, EMPTY_RUN)

    assert result.verdict is UNKNOWN
    assert result.error == "KeyError: 'charge_id'"


def test_checker_returning_something_else_gives_unknown():
    result = run_checker("liar", lambda run: "valid", EMPTY_RUN)

    assert result.verdict is UNKNOWN
    assert "TypeError" in result.error


def test_check_all_runs_named_checkers_in_order():
    results = check_all(EMPTY_RUN, ["liveness", "no_double_charge"])

    assert [result.name for result in results] == ["liveness", "no_double_charge"]
    assert [result.verdict for result in results] == [UNKNOWN, VALID]


def test_check_all_refuses_unknown_names_naming_the_known_ones():
    with pytest.raises(ValueError, match="'no_such_thing'") as raised:
        check_all(EMPTY_RUN, ["liveness", "no_such_thing"])

    assert all(name in str(raised.value) for name in CHECKERS)


def test_check_all_refuses_repeated_names():
    with pytest.raises(ValueError, match="more than once: liveness"):
        check_all(EMPTY_RUN, ["liveness", "liveness"])
