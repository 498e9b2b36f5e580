"""`paychaos analyze`: re-check a stored run from its files, without re-running anything.

What ran comes from the run's ``scenario.json``; its provenance and duration from the stored
``report.json`` when one is readable. The re-check writes every report again.
"""

import json
from collections.abc import Callable
from pathlib import Path

import invariants
import reports
from invariants.model.files import SCENARIO_FILE
from invariants.model.provenance import encode_provenance, parse_provenance
from invariants.model.scenario_record import load_scenario_record
from scenarios.campaign import check_and_report
from scenarios.errors import HarnessError


def analyze_run(run_dir: Path, *, warn: Callable[[str], None]) -> tuple[str, dict]:
    """Check ``run_dir`` again and write its reports; returns the verdict and the report.

    ``warn`` hears what the re-check does without (an unreadable stored provenance).
    """
    if not run_dir.is_dir():
        raise HarnessError(f"no run directory at {run_dir}")
    try:
        # What ran is in scenario.json, written before the run started.
        scenario = load_scenario_record(run_dir / SCENARIO_FILE)
    except (OSError, invariants.RunFileError) as error:
        raise HarnessError(
            f"cannot analyze {run_dir}: no readable {SCENARIO_FILE} ({error})"
        ) from None
    try:
        previous = json.loads((run_dir / reports.REPORT_FILE).read_text())
    except (OSError, ValueError):
        previous = {}
    provenance = _stored_provenance(previous, run_dir, warn)
    duration_s = float(previous.get("stats", {}).get("duration_s", 0.0))
    try:
        return check_and_report(
            run_dir,
            run_id=run_dir.resolve().name,
            scenario_name=scenario.name,
            seed=scenario.seed,
            names=list(scenario.invariants),
            provenance=provenance,
            duration_s=duration_s,
        )
    except (OSError, invariants.RunFileError) as error:
        raise HarnessError(f"cannot analyze {run_dir}: {error}") from None


def _stored_provenance(report: dict, run_dir: Path, warn: Callable[[str], None]) -> dict:
    """The stored report's provenance, read through the run-file model; without a readable
    one the re-check still runs, and says so."""
    try:
        return encode_provenance(parse_provenance(report.get("provenance")))
    except invariants.RunFileError as error:
        warn(f"no readable provenance in {run_dir / reports.REPORT_FILE}: {error}")
        return {}
