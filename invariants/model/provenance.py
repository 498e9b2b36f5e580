"""Where a run came from, as ``report.json`` and ``manifest.json`` carry it: the commit, the
scenario and its seed, the defects switched on, the configuration and the tool versions.

The campaign builds it here and writes it with :func:`encode_provenance`; ``analyze`` reads a
stored run's back with :func:`parse_provenance`, so that a re-check reports the same origin.
"""

from typing import Any

import msgspec

from invariants.model.records import convert_document


class Provenance(msgspec.Struct, frozen=True, kw_only=True):
    """What ran: enough to reproduce a run with the same seed.

    ``git_dirty`` is ``None`` when git could not say; ``tools`` maps a tool to its version
    (``None`` when it did not answer). ``scenario_reference`` is what ``paychaos run`` takes,
    at the project's root on any machine, to load the scenario again (``scenario_file`` is
    where it was on the machine that ran it); ``None`` in runs recorded before it existed.
    """

    git_commit: str
    git_dirty: bool | None
    seed: int
    scenario: str
    scenario_file: str
    scenario_sha256: str
    defects: list[str]
    config: dict[str, Any]
    tools: dict[str, str | None]
    scenario_reference: str | None = None


def encode_provenance(provenance: Provenance) -> dict[str, Any]:
    """The provenance as the JSON object the reports carry.

    >>> encode_provenance(Provenance(git_commit="abc", git_dirty=False, seed=7,
    ...     scenario="baseline", scenario_file="baseline.yaml", scenario_sha256="00",
    ...     defects=[], config={}, tools={"python": "3.11.7"}))["seed"]
    7
    """
    return msgspec.to_builtins(provenance)


def parse_provenance(document: object, *, source: str = "report.json: provenance") -> Provenance:
    """Validate a provenance object read back from a report; errors name the field."""
    return convert_document(document, Provenance, source=source)
