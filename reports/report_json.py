"""``report.json``: the machine-readable verdict of a run (schema in DESIGN.md)."""

import json
from collections import Counter
from collections.abc import Mapping, Sequence

import msgspec

from invariants import Anomaly, FaultWindow, InvariantResult, RunInputs, Verdict, combine
from reports.stats import run_stats
from reports.timeline import run_timeline

SCHEMA_VERSION = 1

# Per invariant. A defect can produce one anomaly per key, hundreds of thousands in a long run;
# a thousand keeps report.json small enough to open in a browser, anomaly_kinds keeps first and
# last of every kind, and `paychaos analyze` recomputes the full list from the run files.
REPORT_ANOMALIES_MAX = 1000

_NANOSECONDS_PER_SECOND = 1_000_000_000


def build_report(
    inputs: RunInputs,
    results: Sequence[InvariantResult],
    *,
    run_id: str,
    scenario: str,
    seed: int,
    provenance: Mapping[str, object],
    duration_s: float,
) -> dict:
    """The ``report.json`` document of a run checked from ``inputs``: verdict, invariants,
    stats, faults, provenance.

    The run's verdict combines the results (invalid over unknown over valid; none is unknown).
    The inputs' gaps (missing from an interrupted run) keep the verdict from being valid.
    ``provenance`` gets the seed added; a different seed in it raises :class:`ValueError`.

    >>> build_report(inputs, results, run_id="r1", scenario="baseline", seed=7,
    ...              provenance={"git_commit": "abc"}, duration_s=60.0)["verdict"]  # doctest: +SKIP
    'valid'
    """
    if provenance.get("seed", seed) != seed:
        raise ValueError(f"provenance seed {provenance['seed']!r} differs from seed {seed!r}")
    return {
        "schema_version": SCHEMA_VERSION,
        "run_id": run_id,
        "scenario": scenario,
        "seed": seed,
        "verdict": str(combine(_verdicts(results, inputs.gaps))),
        "gaps": list(inputs.gaps),
        "invariants": [invariant_entry(result) for result in results],
        "stats": run_stats(inputs.ops, inputs.final_state, duration_s),
        "faults": [fault_entry(window) for window in inputs.fault_windows],
        "timeline": run_timeline(inputs.ops, duration_s),
        "provenance": {"seed": seed, **provenance},
    }


def _verdicts(results: Sequence[InvariantResult], gaps: Sequence[str]) -> list[Verdict]:
    # A run with gaps is checked as far as it can be, and is never valid.
    return [result.verdict for result in results] + ([Verdict.UNKNOWN] if gaps else [])


def invariant_entry(result: InvariantResult) -> dict:
    """One invariant of the report, its anomalies capped at :data:`REPORT_ANOMALIES_MAX`."""
    shown = result.anomalies[:REPORT_ANOMALIES_MAX]
    return {
        "name": result.name,
        "verdict": str(result.verdict),
        "anomaly_count": len(result.anomalies),
        "anomalies": [anomaly_entry(anomaly) for anomaly in shown],
        "anomalies_truncated": len(shown) < len(result.anomalies),
        "anomaly_kinds": anomaly_kinds(result.anomalies),
        "error": result.error,
    }


def anomaly_kinds(anomalies: Sequence[Anomaly]) -> dict[str, dict]:
    """Anomalies grouped by kind, each with its count, first and last (as Jepsen reports)."""
    first: dict[str, Anomaly] = {}
    last: dict[str, Anomaly] = {}
    counts: Counter[str] = Counter()
    for anomaly in anomalies:
        first.setdefault(anomaly.kind, anomaly)
        last[anomaly.kind] = anomaly
        counts[anomaly.kind] += 1
    return {
        kind: {
            "count": counts[kind],
            "first": anomaly_entry(first[kind]),
            "last": anomaly_entry(last[kind]),
        }
        for kind in first
    }


def anomaly_entry(anomaly: Anomaly) -> dict:
    """An anomaly as JSON data (evidence may quote history values and rows, which are
    structs: they become the JSON objects they were read from)."""
    evidence = msgspec.to_builtins(anomaly.evidence)
    return {"kind": anomaly.kind, "message": anomaly.message, "evidence": evidence}


def fault_entry(window: FaultWindow) -> dict:
    """A fault window in seconds since run start; ``stop_s`` is null if it was never stopped."""
    return {
        "name": window.name,
        "fault": window.fault,
        "target": window.target,
        "params": window.params,
        "start_s": window.start_ns / _NANOSECONDS_PER_SECOND,
        "stop_s": None if window.stop_ns is None else window.stop_ns / _NANOSECONDS_PER_SECOND,
        "confirmed": window.confirmed,
        "evidence": window.evidence,
    }


def render_report_json(report: Mapping[str, object]) -> str:
    """Serialize a report; NaN or a non-JSON value raises rather than write a broken file."""
    return json.dumps(report, indent=2, allow_nan=False) + "\n"
