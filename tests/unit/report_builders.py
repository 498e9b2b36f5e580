"""Hand-built report.json documents and run directories for the campaign and compare tests
(builders only, no tests here)."""

import json
from pathlib import Path

from invariants import Verdict, combine
from invariants.model.files import REPORT_FILE


def report(
    *,
    scenario: str = "baseline",
    seed: int = 7,
    invariants: dict[str, tuple[str, dict[str, int]]] | None = None,
    ops: dict[str, dict[str, int]] | None = None,
    confirmed: tuple[bool, ...] = (True, True),
    commit: str = "a" * 40,
    defects: tuple[str, ...] = (),
    gaps: tuple[str, ...] = (),
) -> dict:
    """A report.json document; `invariants` maps a name to (verdict, {anomaly kind: count})."""
    if invariants is None:
        invariants = {"no_double_charge": ("valid", {}), "liveness": ("valid", {})}
    entries = [
        {
            "name": name,
            "verdict": verdict,
            "anomaly_count": sum(kinds.values()),
            "anomalies": [],
            "anomalies_truncated": False,
            "anomaly_kinds": {kind: {"count": count} for kind, count in kinds.items()},
            "error": None,
        }
        for name, (verdict, kinds) in invariants.items()
    ]
    verdicts = [verdict for verdict, _ in invariants.values()] + (["unknown"] if gaps else [])
    return {
        "schema_version": 1,
        "run_id": f"run-{scenario}-{seed}",
        "scenario": scenario,
        "seed": seed,
        "verdict": str(combine(Verdict(verdict) for verdict in verdicts)),
        "gaps": list(gaps),
        "invariants": entries,
        "stats": {
            "ops": ops if ops is not None else {"charge": {"ok": 10, "fail": 1, "info": 2}},
            "duration_s": 30.0,
        },
        "faults": [
            {"name": f"fault-{number}", "target": "network", "confirmed": value}
            for number, value in enumerate(confirmed)
        ],
        "provenance": {
            "seed": seed,
            "scenario": scenario,
            "git_commit": commit,
            "git_dirty": False,
            "defects": list(defects),
        },
    }


def write_report_dir(run_dir: Path, document: object) -> Path:
    """A run directory holding `document` as its report.json."""
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / REPORT_FILE).write_text(json.dumps(document))
    return run_dir
