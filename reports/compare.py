"""``paychaos compare RUN_A RUN_B``: two stored runs side by side, from their report.json (and
manifest.json for provenance a report lacks): verdicts, invariants and their anomalies, op
counts, faults, and where each run came from.

Two runs compare as the same when their overall verdicts are equal.
"""

import json
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from invariants import Verdict
from invariants.model.files import MANIFEST_FILE, REPORT_FILE
from reports.exit_codes import EXIT_SAME_VERDICT, EXIT_VERDICTS_DIFFER

OP_OUTCOMES = ("ok", "fail", "info")
# Enough of a commit hash to tell two apart at a glance.
COMMIT_CHARS = 12


class CompareError(ValueError):
    """A run directory or its report.json cannot be compared; the message is one line."""


@dataclass(frozen=True)
class StoredRun:
    """A run directory's report.json document and its provenance."""

    path: Path
    report: dict
    provenance: dict


def load_stored_run(run_dir: Path) -> StoredRun:
    """Read and check ``run_dir``'s report.json; any problem is a one-line CompareError."""
    if not run_dir.is_dir():
        raise CompareError(f"no run directory at {run_dir}")
    path = run_dir / REPORT_FILE
    try:
        report = json.loads(path.read_text())
    except FileNotFoundError:
        raise CompareError(
            f"no {REPORT_FILE} in {run_dir} (`paychaos analyze` writes it)"
        ) from None
    except OSError as error:
        raise CompareError(f"cannot read {path}: {error.strerror}") from None
    except ValueError as error:
        raise CompareError(f"{path} is not JSON: {error}") from None
    problem = report_problem(report)
    if problem is not None:
        raise CompareError(f"{path} is not a run report: {problem}")
    # The report's own provenance wins; the manifest fills what an older report lacks.
    provenance = {**_manifest_provenance(run_dir), **report.get("provenance", {})}
    return StoredRun(run_dir, report, provenance)


def _manifest_provenance(run_dir: Path) -> dict:
    # The manifest is optional for comparing: report.json is the contract.
    try:
        provenance = json.loads((run_dir / MANIFEST_FILE).read_text()).get("provenance")
    except (OSError, ValueError, AttributeError):
        return {}
    return provenance if isinstance(provenance, dict) else {}


def report_problem(report: object) -> str | None:
    """What keeps ``report`` from being a report.json document compare can read, or None."""
    if not isinstance(report, dict):
        return "not a JSON object"
    if not _is_verdict(report.get("verdict")):
        return f"verdict {report.get('verdict')!r} is no verdict"
    if not isinstance(report.get("scenario"), str) or not isinstance(report.get("seed"), int):
        return "no scenario name and seed"
    invariants = report.get("invariants")
    if not isinstance(invariants, list) or not all(_invariant_entry(e) for e in invariants):
        return "invariants is not a list of {name, verdict, anomaly_count}"
    ops = report.get("stats", {}).get("ops") if isinstance(report.get("stats"), dict) else None
    if not isinstance(ops, dict) or not all(_op_counts_entry(c) for c in ops.values()):
        return "stats.ops is not {function: {ok, fail, info}} counts"
    faults = report.get("faults")
    if not isinstance(faults, list) or not all(
        isinstance(fault, dict) and isinstance(fault.get("confirmed"), bool) for fault in faults
    ):
        return "faults is not a list of {confirmed, ...}"
    gaps = report.get("gaps", [])
    if not isinstance(gaps, list) or not all(isinstance(gap, str) for gap in gaps):
        return "gaps is not a list of text"
    if not isinstance(report.get("provenance", {}), dict):
        return "provenance is not an object"
    return None


def _op_counts_entry(counts: object) -> bool:
    return isinstance(counts, dict) and all(isinstance(n, int) for n in counts.values())


def _is_verdict(value: object) -> bool:
    return isinstance(value, str) and value in {verdict.value for verdict in Verdict}


def _invariant_entry(entry: object) -> bool:
    return (
        isinstance(entry, dict)
        and isinstance(entry.get("name"), str)
        and _is_verdict(entry.get("verdict"))
        and isinstance(entry.get("anomaly_count"), int)
    )


@dataclass(frozen=True)
class InvariantChange:
    """One invariant in both runs; None where a run did not check it."""

    name: str
    verdict_a: str | None
    verdict_b: str | None
    anomalies_a: int | None
    anomalies_b: int | None
    # Anomaly kinds whose counts differ: kind -> (count in A, count in B).
    kinds: dict[str, tuple[int, int]]

    @property
    def changed(self) -> bool:
        """Whether the verdict, the anomaly count or any kind's count differs."""
        return (
            self.verdict_a != self.verdict_b
            or self.anomalies_a != self.anomalies_b
            or bool(self.kinds)
        )


@dataclass(frozen=True)
class Comparison:
    """Two stored runs compared."""

    a: StoredRun
    b: StoredRun
    invariants: list[InvariantChange]
    # Op function -> (counts in A, counts in B), each {ok, fail, info}.
    ops: dict[str, tuple[dict[str, int], dict[str, int]]]

    @property
    def same_verdict(self) -> bool:
        """Whether the two overall verdicts are equal."""
        return self.a.report["verdict"] == self.b.report["verdict"]

    @property
    def same_scenario_and_seed(self) -> bool:
        """Whether both runs ran the same scenario with the same seed."""
        return _subject(self.a) == _subject(self.b)

    @property
    def exit_code(self) -> int:
        """The exit code of ``paychaos compare``: same verdict or not."""
        return EXIT_SAME_VERDICT if self.same_verdict else EXIT_VERDICTS_DIFFER


def _subject(run: StoredRun) -> tuple[str, int]:
    return run.report["scenario"], run.report["seed"]


def compare_runs(a: StoredRun, b: StoredRun) -> Comparison:
    """Compare two stored runs, invariant by invariant and op function by op function."""
    entries_a = {entry["name"]: entry for entry in a.report["invariants"]}
    entries_b = {entry["name"]: entry for entry in b.report["invariants"]}
    invariants = [
        _invariant_change(name, entries_a.get(name), entries_b.get(name))
        for name in dict.fromkeys([*entries_a, *entries_b])
    ]
    ops_a, ops_b = a.report["stats"]["ops"], b.report["stats"]["ops"]
    ops = {
        f: (_op_counts(ops_a.get(f, {})), _op_counts(ops_b.get(f, {})))
        for f in dict.fromkeys([*ops_a, *ops_b])
    }
    return Comparison(a, b, invariants, ops)


def _invariant_change(name: str, a: Mapping | None, b: Mapping | None) -> InvariantChange:
    kinds_a, kinds_b = _kind_counts(a), _kind_counts(b)
    kinds = {
        kind: (kinds_a.get(kind, 0), kinds_b.get(kind, 0))
        for kind in dict.fromkeys([*kinds_a, *kinds_b])
        if kinds_a.get(kind, 0) != kinds_b.get(kind, 0)
    }
    return InvariantChange(
        name=name,
        verdict_a=None if a is None else a["verdict"],
        verdict_b=None if b is None else b["verdict"],
        anomalies_a=None if a is None else a["anomaly_count"],
        anomalies_b=None if b is None else b["anomaly_count"],
        kinds=kinds,
    )


def _kind_counts(entry: Mapping | None) -> dict[str, int]:
    if entry is None:
        return {}
    grouped = entry.get("anomaly_kinds")
    if isinstance(grouped, dict):
        return {
            kind: value["count"]
            for kind, value in grouped.items()
            if isinstance(value, dict) and isinstance(value.get("count"), int)
        }
    # A report without anomaly_kinds: count the (possibly capped) list it holds.
    anomalies = entry.get("anomalies")
    kinds = (
        [a.get("kind") for a in anomalies if isinstance(a, dict)]
        if isinstance(anomalies, list)
        else []
    )
    return dict(Counter(str(kind) for kind in kinds))


def _op_counts(counts: Mapping) -> dict[str, int]:
    return {outcome: counts.get(outcome, 0) for outcome in OP_OUTCOMES}


def verdict_line(comparison: Comparison) -> str:
    """The one line that says whether the verdicts differ (all that --quiet prints)."""
    a, b = comparison.a.report["verdict"], comparison.b.report["verdict"]
    if comparison.same_verdict:
        return f"verdict: {a} in both runs (same)"
    return f"verdict: {a} -> {b} (differs)"


def render_comparison(comparison: Comparison) -> list[str]:
    """The comparison as lines: provenance, verdicts, invariants, ops and faults."""
    a, b = comparison.a, comparison.b
    lines = [f"A: {_describe(a)}", f"B: {_describe(b)}"]
    if comparison.same_scenario_and_seed:
        lines.append("same scenario and seed: yes")
    else:
        lines.append(f"same scenario and seed: no ({_subject_text(a)} vs {_subject_text(b)})")
    lines.append(verdict_line(comparison))
    for label, run in (("A", a), ("B", b)):
        lines += [f"incomplete run {label}: {gap}" for gap in run.report.get("gaps", [])]
    lines.append("invariants (A -> B):")
    lines += [_invariant_line(change) for change in comparison.invariants]
    lines.append("ops ok/fail/info (A -> B):")
    for f, (counts_a, counts_b) in comparison.ops.items():
        mark = "same" if counts_a == counts_b else "changed"
        lines.append(f"  {f:<10} {_counts(counts_a):>14} -> {_counts(counts_b):<14} {mark}")
    confirmed_a, confirmed_b = _faults_confirmed(a), _faults_confirmed(b)
    mark = "same" if confirmed_a == confirmed_b else "changed"
    lines.append(f"faults confirmed: {confirmed_a} -> {confirmed_b} {mark}")
    return lines


def _describe(run: StoredRun) -> str:
    provenance = run.provenance
    commit = str(provenance.get("git_commit") or "unknown")[:COMMIT_CHARS]
    if provenance.get("git_dirty"):
        commit += " (dirty)"
    listed = provenance.get("defects")
    defects = ", ".join(map(str, listed)) if isinstance(listed, list) and listed else "none"
    return (
        f"{run.path}  {_subject_text(run)}  verdict {run.report['verdict']}  "
        f"commit {commit}  defects {defects}"
    )


def _subject_text(run: StoredRun) -> str:
    scenario, seed = _subject(run)
    return f"{scenario} seed {seed}"


def _invariant_line(change: InvariantChange) -> str:
    verdicts = f"{change.verdict_a or '-':<8} -> {change.verdict_b or '-':<8}"
    anomalies = f"anomalies {_count(change.anomalies_a)} -> {_count(change.anomalies_b)}"
    kinds = "".join(f"  {kind} {old} -> {new}" for kind, (old, new) in change.kinds.items())
    mark = "changed" if change.changed else "same"
    return f"  {change.name:<26} {verdicts}  {anomalies:<22} {mark}{kinds}"


def _count(value: int | None) -> str:
    return "-" if value is None else str(value)


def _counts(counts: Mapping[str, int]) -> str:
    return "/".join(str(counts[outcome]) for outcome in OP_OUTCOMES)


def _faults_confirmed(run: StoredRun) -> str:
    faults = run.report["faults"]
    return f"{sum(1 for fault in faults if fault['confirmed'])}/{len(faults)}"
