"""The short form of the defect matrix: a balance defect is caught on its scenario by its
invariant, and the correct system on the same scenario is valid."""

import json
from pathlib import Path

import pytest

from tests.integration.conftest import assert_nothing_left, paychaos

pytestmark = pytest.mark.integration

# Two campaigns of the replica-lag scenario (about 40 s each) and their checks.
MATRIX_TIMEOUT_S = 400


def test_the_short_matrix_catches_balance_from_replica_and_clears_the_correct_system(tmp_path):
    result = paychaos(
        "mutants",
        "--only",
        "balance-from-replica",
        "--runs-dir",
        str(tmp_path),
        runs_dir=tmp_path,
        timeout_s=MATRIX_TIMEOUT_S,
    )
    assert result.exit_code == 0, result.stdout + result.stderr
    matrix = json.loads((result.run_dir / "mutants.json").read_text())
    assert matrix["passed"] is True
    caught, correct = matrix["rows"]
    assert (caught["defect"], caught["scenario"]) == ("balance-from-replica", "replica-lag")
    assert caught["invariant_verdict"] == "invalid"
    assert caught["detected_after_s"] is not None
    assert (correct["defect"], correct["verdict"]) == (None, "valid")
    assert "| balance-from-replica | replica-lag | no_stale_balance_approval |" in result.stdout
    for row in matrix["rows"]:
        assert_nothing_left(Path(row["run_dir"]))
