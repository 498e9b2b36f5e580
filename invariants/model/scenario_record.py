"""``scenario.json``: the scenario a run ran, as loaded (defaults filled in, seed chosen).

The campaign writes it before the run starts; ``analyze`` reads back which scenario, seed and
invariants to re-check. The workload and the fault steps keep the shape the scenario file gives
them (its schema in ``scenarios/scenario.py`` is their one owner), so here they are objects.
"""

from pathlib import Path
from typing import Any

import msgspec

from invariants.model.records import convert_document, encode_document, load_document


class ScenarioRecord(msgspec.Struct, frozen=True, kw_only=True):
    """One run's scenario: what ``paychaos analyze`` needs to re-check it, and the rest."""

    name: str
    description: str
    seed: int
    workload: dict[str, Any]
    faults: tuple[dict[str, Any], ...]
    quiesce_timeout_s: float
    invariants: tuple[str, ...]
    source_path: str
    source_sha256: str
    replication: str


def encode_scenario_record(record: ScenarioRecord) -> bytes:
    """``scenario.json`` as written: what :func:`load_scenario_record` reads back."""
    return encode_document(record)


def load_scenario_record(path: Path) -> ScenarioRecord:
    """Load and validate ``scenario.json``; errors name the file and the field.

    >>> load_scenario_record(Path("reports/runs/latest/scenario.json")).seed  # doctest: +SKIP
    7
    """
    return load_document(path, _DECODER)


def parse_scenario_record(document: object, *, source: str) -> ScenarioRecord:
    """Validate a scenario as plain data (``source`` says whose, for the error)."""
    return convert_document(document, ScenarioRecord, source=source)


_DECODER = msgspec.json.Decoder(ScenarioRecord)
