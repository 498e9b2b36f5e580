"""The defect matrix's table: every implemented defect has its row, each row's scenario checks
its invariant, and a row passes only when the defect was caught (or the correct system valid)."""

import pytest

import invariants
from scenarios import mutants
from scenarios.scenario import load_scenario
from system_under_test.defects import DEFECTS


def test_every_implemented_defect_has_a_row():
    assert set(mutants.MATRIX) == set(DEFECTS)


@pytest.mark.parametrize("defect", sorted(mutants.MATRIX))
def test_each_rows_scenario_checks_its_invariant(defect):
    mutant = mutants.MATRIX[defect]
    scenario = load_scenario(mutant.scenario, known_invariants=frozenset(invariants.CHECKERS))
    assert mutant.invariant in scenario.invariants


def test_unknown_defects_are_refused_by_name():
    with pytest.raises(mutants.MatrixError, match="'typo'"):
        mutants.choose(["no-row-lock", "typo"])
    assert list(mutants.choose(["no-row-lock"])) == ["no-row-lock"]


def row(defect, verdict, invariant_verdict):
    return mutants.MatrixRow(
        defect=defect,
        scenario="baseline",
        expected="invalid" if defect else "valid",
        verdict=verdict,
        invariant=None if defect is None else "no_double_charge",
        invariant_verdict=invariant_verdict,
        detected_after_s=None,
        wall_s=1.0,
        run_dir="r",
    )


def test_a_defect_passes_only_when_its_own_invariant_is_invalid():
    assert row("no-idempotency", "invalid", "invalid").passed
    # Invalid on another invariant only: the matching checker let it escape.
    assert not row("no-idempotency", "invalid", "valid").passed
    assert not row("no-idempotency", "unknown", "unknown").passed


def test_the_correct_system_passes_only_when_valid():
    assert row(None, "valid", None).passed
    assert not row(None, "unknown", None).passed
    assert "false alarm" in mutants.markdown([row(None, "invalid", None)])


def test_detection_time_is_the_first_quoted_op():
    entry = {
        "anomalies": [
            {"evidence": {"ops": [{"invoke_time": 5_000_000_000}, {"invoke_time": 2_500_000_000}]}},
            {"evidence": {"op_index": 3}},
        ]
    }
    assert mutants.detection_time_s(entry) == 2.5
    assert mutants.detection_time_s({"anomalies": []}) is None
