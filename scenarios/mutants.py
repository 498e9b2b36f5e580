"""The defect matrix (`paychaos mutants`): proof that the checkers catch what they claim to.

Each defect switch runs on its matching scenario and must end `invalid` on its matching
invariant (else it escaped); the correct system runs on every scenario of the matrix and must
end `valid` (else a false alarm). Adding a defect is one line of MATRIX.
"""

import json
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

import invariants
import reports
from scenarios.campaign import new_run_dir, point_latest, run_campaign
from scenarios.scenario import load_scenario
from system_under_test import defects

MATRIX_FILE = "mutants.json"
MARKDOWN_FILE = "mutants.md"
MATRIX_SEED = 7


@dataclass(frozen=True)
class Mutant:
    """Where a defect shows: the scenario that provokes it and the invariant that must fail."""

    scenario: str
    invariant: str


MATRIX: dict[str, Mutant] = {
    defects.NETWORK_RETRY_ON_TIMEOUT: Mutant("baseline", "no_double_charge"),
    defects.NO_IDEMPOTENCY: Mutant("retry-storm", "no_double_charge"),
    defects.SKIP_PROCESSING_STATE: Mutant("crash-mid-processing", "no_lost_write"),
    defects.ACK_BEFORE_COMMIT: Mutant("primary-crash", "no_lost_write"),
    defects.BALANCE_FROM_REPLICA: Mutant("replica-lag", "no_stale_balance_approval"),
    defects.NO_ROW_LOCK: Mutant("debit-race", "no_stale_balance_approval"),
}


@dataclass(frozen=True)
class MatrixRow:
    """One run of the matrix: a defect (None: the correct system) on a scenario."""

    defect: str | None
    scenario: str
    expected: str
    verdict: str
    invariant: str | None
    invariant_verdict: str | None
    # Seconds from the run's start to the first op of the first anomaly of `invariant`.
    detected_after_s: float | None
    wall_s: float
    run_dir: str

    @property
    def passed(self) -> bool:
        """Caught (a defect) or valid (the correct system)."""
        if self.defect is None:
            return self.verdict == "valid"
        return self.invariant_verdict == "invalid"


class MatrixError(ValueError):
    """A defect name the matrix does not have."""


def choose(names: Iterable[str] | None) -> dict[str, Mutant]:
    """The rows of MATRIX named by `names` (all when None), refusing unknown names."""
    if names is None:
        return dict(MATRIX)
    chosen = {}
    for name in names:
        if name not in MATRIX:
            raise MatrixError(f"no defect {name!r} in the matrix; known: {', '.join(MATRIX)}")
        chosen[name] = MATRIX[name]
    return chosen


def run_count(mutants: dict[str, Mutant]) -> int:
    """How many runs `run_matrix` makes: each defect, then the correct system once per scenario."""
    return len(mutants) + len({mutant.scenario for mutant in mutants.values()})


def run_matrix(
    mutants: dict[str, Mutant], runs_root: Path, *, progress=print
) -> tuple[Path, list[MatrixRow]]:
    """Run each defect on its scenario, then the correct system on each scenario used; write
    mutants.json and mutants.md into a run directory of its own and return it with the rows."""
    runs_root.mkdir(parents=True, exist_ok=True)
    matrix_dir = new_run_dir(runs_root, "mutants", MATRIX_SEED)
    point_latest(runs_root, matrix_dir)
    rows: list[MatrixRow] = []
    for defect, mutant in mutants.items():
        rows.append(_run_one(defect, mutant.scenario, mutant.invariant, matrix_dir))
        progress(_line(rows[-1]))
    for scenario in dict.fromkeys(mutant.scenario for mutant in mutants.values()):
        rows.append(_run_one(None, scenario, None, matrix_dir))
        progress(_line(rows[-1]))
    document = {
        "seed": MATRIX_SEED,
        "passed": all(row.passed for row in rows),
        "rows": [asdict(row) | {"passed": row.passed} for row in rows],
    }
    reports.write_atomic(matrix_dir / MATRIX_FILE, json.dumps(document, indent=2) + "\n")
    reports.write_atomic(matrix_dir / MARKDOWN_FILE, markdown(rows))
    return matrix_dir, rows


def _run_one(
    defect: str | None, scenario_name: str, invariant: str | None, matrix_dir: Path
) -> MatrixRow:
    scenario = load_scenario(
        scenario_name, known_invariants=frozenset(invariants.CHECKERS), seed=MATRIX_SEED
    )
    if invariant is not None and invariant not in scenario.invariants:
        raise MatrixError(f"scenario {scenario_name} does not check {invariant}")
    started = time.monotonic()
    outcome = run_campaign(
        scenario, defects=(defect,) if defect else (), runs_root=matrix_dir / "runs"
    )
    entry = next((item for item in outcome.report["invariants"] if item["name"] == invariant), None)
    return MatrixRow(
        defect=defect,
        scenario=scenario_name,
        expected="invalid" if defect else "valid",
        verdict=outcome.verdict,
        invariant=invariant,
        invariant_verdict=None if entry is None else entry["verdict"],
        detected_after_s=None if entry is None else detection_time_s(entry),
        wall_s=round(time.monotonic() - started, 1),
        run_dir=str(outcome.run_dir),
    )


def detection_time_s(entry: dict) -> float | None:
    """The earliest invoke time among the ops an invariant's anomalies quote, in seconds."""
    times = [
        time_ns
        for anomaly in entry["anomalies"]
        for time_ns in _invoke_times(anomaly.get("evidence", {}))
    ]
    return round(min(times) / 1e9, 2) if times else None


def _invoke_times(evidence: object) -> Iterable[int]:
    # Evidence is plain JSON; ops appear under several names, each with its invoke_time.
    if isinstance(evidence, dict):
        value = evidence.get("invoke_time")
        if isinstance(value, int):
            yield value
        for child in evidence.values():
            yield from _invoke_times(child)
    elif isinstance(evidence, list):
        for child in evidence:
            yield from _invoke_times(child)


def _line(row: MatrixRow) -> str:
    subject = row.defect or "correct system"
    outcome = "ok" if row.passed else ("ESCAPED" if row.defect else "FALSE ALARM")
    return f"{outcome:<11} {subject:<26} on {row.scenario:<22} verdict {row.verdict}"


def markdown(rows: list[MatrixRow]) -> str:
    """The matrix as a Markdown table."""
    lines = [
        "| defect | scenario | invariant | expected | got | detected after | wall | result |",
        "|---|---|---|---|---|---:|---:|---|",
    ]
    for row in rows:
        got = row.invariant_verdict if row.defect else row.verdict
        detected = "-" if row.detected_after_s is None else f"{row.detected_after_s:.1f} s"
        result = "ok" if row.passed else ("**escaped**" if row.defect else "**false alarm**")
        lines.append(
            f"| {row.defect or '(none)'} | {row.scenario} | {row.invariant or 'all'} | "
            f"{row.expected} | {got} | {detected} | {row.wall_s:.1f} s | {result} |"
        )
    return "\n".join(lines) + "\n"
