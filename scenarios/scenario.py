"""Scenario files (YAML): loaded, validated against a schema, and turned into plain data.

A scenario names the workload, the fault schedule and the invariants to check. Validation
errors name the bad key and value, so a broken file fails before anything starts.
"""

import hashlib
import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from faults.kinds import KINDS
from faults.nemesis import FaultStep

SCENARIO_DIRECTORY = Path(__file__).parent / "files"

# What a client may be planned to do; every ok write is also read back (`read_back`).
OP_KINDS = ("charge", "refund", "payout", "balance")

_POSITIVE = {"type": "number", "exclusiveMinimum": 0}
_NON_NEGATIVE = {"type": "number", "minimum": 0}

SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name", "seed", "workload", "invariants"],
    "properties": {
        "name": {"type": "string", "pattern": "^[a-z0-9][a-z0-9_-]*$"},
        "description": {"type": "string"},
        "seed": {"type": "integer", "minimum": 0},
        "workload": {
            "type": "object",
            "additionalProperties": False,
            "required": ["clients", "rate_per_s", "duration_s"],
            "properties": {
                "clients": {"type": "integer", "minimum": 1, "maximum": 256},
                "rate_per_s": _POSITIVE,
                "duration_s": {"type": "number", "exclusiveMinimum": 0, "maximum": 3600},
                "merchants": {"type": "integer", "minimum": 1, "maximum": 100},
                "currency": {"enum": ["usd", "eur", "gbp"]},
                "amount": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["min", "max"],
                    "properties": {
                        "min": {"type": "integer", "minimum": 1},
                        "max": {"type": "integer", "minimum": 1, "maximum": 99_999_999},
                    },
                },
                "cards": {
                    "type": "object",
                    "minProperties": 1,
                    "propertyNames": {"pattern": "^[0-9]{12,19}$"},
                    "additionalProperties": _NON_NEGATIVE,
                },
                "request_timeout_s": _POSITIVE,
                "mix": {
                    "type": "object",
                    "additionalProperties": False,
                    "minProperties": 1,
                    "properties": {kind: _NON_NEGATIVE for kind in OP_KINDS},
                },
                "full_refund_share": {"type": "number", "minimum": 0, "maximum": 1},
                "read_back": {"type": "boolean"},
                "retry": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "attempts_max": {"type": "integer", "minimum": 1, "maximum": 100},
                        "backoff_s": _NON_NEGATIVE,
                        "backoff_max_s": _NON_NEGATIVE,
                    },
                },
            },
        },
        "faults": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["name", "at_s"],
                # Exactly one fault kind per step, named by its key.
                "oneOf": [{"required": [kind]} for kind in sorted(KINDS)],
                "properties": {
                    "name": {"type": "string", "pattern": "^[a-z0-9][a-z0-9_-]*$"},
                    "at_s": _NON_NEGATIVE,
                    "duration_s": {"type": "number", "exclusiveMinimum": 0, "maximum": 3600},
                    **{kind.name: kind.schema for kind in KINDS.values()},
                },
            },
        },
        "quiesce": {
            "type": "object",
            "additionalProperties": False,
            "properties": {"timeout_s": {"type": "number", "exclusiveMinimum": 0, "maximum": 3600}},
        },
        "invariants": {"type": "array", "minItems": 1, "items": {"type": "string"}},
    },
}


class ScenarioError(ValueError):
    """A scenario that cannot be found, parsed or validated; the message is one line."""


@dataclass(frozen=True)
class RetryPolicy:
    attempts_max: int = 10
    backoff_s: float = 0.25
    backoff_max_s: float = 2.0


@dataclass(frozen=True)
class Workload:
    clients: int
    rate_per_s: float
    duration_s: float
    merchants: int
    currency: str
    amount_min: int
    amount_max: int
    cards: dict[str, float]
    request_timeout_s: float
    retry: RetryPolicy
    # Weight of each planned op kind; a refund refunds an earlier charge of the same client.
    mix: dict[str, float] = field(default_factory=lambda: {"charge": 1.0})
    # Share of refunds that ask for the whole remainder (no amount); the rest are partial.
    full_refund_share: float = 0.5
    # Read every acknowledged write back at once, on the primary.
    read_back: bool = True


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    seed: int
    workload: Workload
    faults: tuple[FaultStep, ...]
    quiesce_timeout_s: float
    invariants: tuple[str, ...]
    source_path: str
    source_sha256: str


def resolve_path(name_or_path: str) -> Path:
    """A scenario file from a path, or from a name of the bundled scenarios."""
    path = Path(name_or_path)
    if path.suffix in {".yaml", ".yml"} or path.exists():
        if not path.is_file():
            raise ScenarioError(f"scenario file not found: {path}")
        return path
    bundled = SCENARIO_DIRECTORY / f"{name_or_path}.yaml"
    if not bundled.is_file():
        known = ", ".join(sorted(p.stem for p in SCENARIO_DIRECTORY.glob("*.yaml")))
        raise ScenarioError(f"unknown scenario {name_or_path!r}; bundled scenarios: {known}")
    return bundled


def _location(error: jsonschema.ValidationError) -> str:
    parts = []
    for part in error.absolute_path:
        parts.append(f"[{part}]" if isinstance(part, int) else f".{part}")
    return "".join(parts).lstrip(".") or "(top level)"


def _error_order(error: jsonschema.ValidationError) -> tuple:
    # The deepest error says most; at one place, an unknown key (a typo) before what it
    # left missing, since naming the typo is what helps.
    deepest = error
    while deepest.context:
        deepest = min(deepest.context, key=_error_order)
    return (list(error.absolute_path), deepest.validator != "additionalProperties")


def _validate(data: object, path: Path, known_invariants: frozenset[str] | None) -> None:
    validator = jsonschema.Draft202012Validator(SCHEMA)
    errors = list(validator.iter_errors(data))
    if errors:
        first = min(errors, key=_error_order)
        raise ScenarioError(f"{path}: {_location(first)}: {first.message}")
    assert isinstance(data, dict)
    workload = data["workload"]
    amount = workload.get("amount", {"min": 1, "max": 1})
    if amount["min"] > amount["max"]:
        raise ScenarioError(f"{path}: workload.amount: min {amount['min']} > max {amount['max']}")
    if not any(weight > 0 for weight in workload.get("cards", {"x": 1}).values()):
        raise ScenarioError(f"{path}: workload.cards: every weight is 0")
    mix = workload.get("mix", {"charge": 1})
    if mix.get("charge", 0) <= 0:
        raise ScenarioError(f"{path}: workload.mix: charge needs a weight above 0")
    problem = schedule_problem(data.get("faults", []), float(workload["duration_s"]))
    if problem is not None:
        raise ScenarioError(f"{path}: {problem}")
    if known_invariants is not None:
        for name in data["invariants"]:
            if name not in known_invariants:
                known = ", ".join(sorted(known_invariants))
                raise ScenarioError(f"{path}: invariants: unknown {name!r}; known: {known}")


def schedule_problem(faults: list[dict[str, Any]], workload_s: float) -> str | None:
    """What makes a (schema-valid) fault schedule impossible, or None."""
    names = [fault["name"] for fault in faults]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        return f"faults: name {duplicates[0]!r} is used twice"
    windows: dict[tuple[str, str], list[tuple[float, float, int]]] = {}
    for index, fault in enumerate(faults):
        kind_name = next(name for name in KINDS if name in fault)
        kind, params = KINDS[kind_name], fault[kind_name]
        where = f"faults[{index}]"
        if kind.needs_duration and "duration_s" not in fault:
            return f"{where}: a {kind_name} needs duration_s"
        if not kind.needs_duration and "duration_s" in fault:
            return f"{where}: a {kind_name} takes no duration_s (it lasts until its own heal)"
        problem = kind.check(params)
        if problem is not None:
            return f"{where}.{kind_name}.{problem}"
        if fault["at_s"] >= workload_s:
            return f"{where}.at_s: {fault['at_s']} is not before the workload ends ({workload_s} s)"
        start = fault["at_s"]
        end = start + kind.lifetime_s(params, fault.get("duration_s"))
        windows.setdefault((kind_name, kind.target(params)), []).append((start, end, index))
    return _overlap(windows)


def _overlap(windows: dict[tuple[str, str], list[tuple[float, float, int]]]) -> str | None:
    # Two kills of one service at once would fight over one restart; the second would act on
    # the fault, not on the system. Toxics may overlap: each has its own name and heal.
    for (kind_name, target), spans in windows.items():
        if kind_name == "toxic":
            continue
        spans.sort()
        for (_, end, first), (start, _, second) in itertools.pairwise(spans):
            if start < end:
                return (
                    f"faults[{second}]: {kind_name} of {target} at {start} s overlaps "
                    f"faults[{first}], which lasts until {end} s"
                )
    return None


def _fault_step(fault: dict[str, Any]) -> FaultStep:
    kind = next(name for name in KINDS if name in fault)
    return FaultStep(
        name=fault["name"],
        at_s=float(fault["at_s"]),
        duration_s=float(fault["duration_s"]) if "duration_s" in fault else None,
        kind=kind,
        params=dict(fault[kind]),
    )


def load_scenario(name_or_path: str, *, known_invariants: frozenset[str] | None = None) -> Scenario:
    """Load and validate a scenario; every problem is a one-line ScenarioError."""
    path = resolve_path(name_or_path)
    try:
        raw = path.read_bytes()
        data = yaml.safe_load(raw)
    except OSError as error:
        raise ScenarioError(f"cannot read scenario {path}: {error.strerror}") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" line {mark.line + 1} column {mark.column + 1}" if mark else ""
        problem = getattr(error, "problem", None) or "invalid YAML"
        raise ScenarioError(f"{path}:{where}: unparsable YAML: {problem}") from None
    _validate(data, path, known_invariants)
    workload = data["workload"]
    retry = workload.get("retry", {})
    amount = workload.get("amount", {"min": 100, "max": 5000})
    return Scenario(
        name=data["name"],
        description=data.get("description", "").strip(),
        seed=data["seed"],
        workload=Workload(
            clients=workload["clients"],
            rate_per_s=float(workload["rate_per_s"]),
            duration_s=float(workload["duration_s"]),
            merchants=workload.get("merchants", 2),
            currency=workload.get("currency", "usd"),
            amount_min=amount["min"],
            amount_max=amount["max"],
            cards=dict(workload.get("cards", {"4242424242424242": 1.0})),
            request_timeout_s=float(workload.get("request_timeout_s", 10)),
            retry=RetryPolicy(**retry),
            mix={
                kind: float(weight) for kind, weight in workload.get("mix", {"charge": 1}).items()
            },
            full_refund_share=float(workload.get("full_refund_share", 0.5)),
            read_back=bool(workload.get("read_back", True)),
        ),
        faults=tuple(_fault_step(fault) for fault in data.get("faults", [])),
        quiesce_timeout_s=float(data.get("quiesce", {}).get("timeout_s", 60)),
        invariants=tuple(data["invariants"]),
        source_path=str(path),
        source_sha256=hashlib.sha256(raw).hexdigest(),
    )
