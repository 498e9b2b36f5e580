"""Scenario files (YAML): loaded, validated against a schema, and turned into plain data.

A scenario names the workload, the fault schedule and the invariants to check. Validation
errors name the bad key and value, so a broken file fails before anything starts.
"""

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema

from faults import swarm
from faults.kinds.base import ON_CLOCK, SCALES_WITH
from faults.nemesis import FaultStep
from scenarios.errors import ScenarioError
from scenarios.fault_schedule import (
    STEP_SCHEMA,
    fault_step,
    random_nemesis_problem,
    scheduled_faults,
)
from scenarios.scenario_document import read_scenario_document, schema_message
from scenarios.workload.api import AMOUNT_MAX, CURRENCIES
from system_under_test.deploy.local import REPLICATION_MODES

SCENARIO_DIRECTORY = Path(__file__).parent / "files"

# What a client may be planned to do; every ok write is also read back (`read_back`).
OP_KINDS = ("charge", "refund", "payout", "balance")
# How a client retries a write it got no definite answer to (RetryPolicy says how each works).
RETRY_MODES = ("backoff", "storm", "careless")

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
                "rate_per_s": {**_POSITIVE, SCALES_WITH: "rate"},
                "duration_s": {
                    "type": "number",
                    "exclusiveMinimum": 0,
                    "maximum": 3600,
                    **ON_CLOCK,
                },
                "merchants": {"type": "integer", "minimum": 1, "maximum": 100},
                "currency": {"enum": list(CURRENCIES)},
                "amount": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["min", "max"],
                    "properties": {
                        "min": {"type": "integer", "minimum": 1},
                        "max": {"type": "integer", "minimum": 1, "maximum": AMOUNT_MAX},
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
                        "mode": {"enum": list(RETRY_MODES)},
                        "attempts_max": {"type": "integer", "minimum": 1, "maximum": 100},
                        # Mode backoff only.
                        "backoff_s": _NON_NEGATIVE,
                        "backoff_max_s": _NON_NEGATIVE,
                        # Modes storm and careless only. Beyond a minute a request is no storm;
                        # beyond 16 attempts at once per planned write, the client's own
                        # sockets, not the system, would be what is tested.
                        "timeout_s": {"type": "number", "exclusiveMinimum": 0, "maximum": 60},
                        "concurrency_multiple": {"type": "integer", "minimum": 1, "maximum": 16},
                    },
                },
            },
        },
        "faults": {"type": "array", "items": STEP_SCHEMA},
        "quiesce": {
            "type": "object",
            "additionalProperties": False,
            "properties": {"timeout_s": {"type": "number", "exclusiveMinimum": 0, "maximum": 3600}},
        },
        "nemesis": {
            "type": "object",
            "additionalProperties": False,
            "required": ["random"],
            "properties": {"random": swarm.SCHEMA},
        },
        "topology": {
            "type": "object",
            "additionalProperties": False,
            "properties": {"replication": {"enum": list(REPLICATION_MODES)}},
        },
        "invariants": {"type": "array", "minItems": 1, "items": {"type": "string"}},
    },
}


@dataclass(frozen=True)
class RetryPolicy:
    """How a client retries a planned write whose attempt ended info (no definite answer).

    - ``backoff``: one attempt at a time under the planned key, a jittered exponential
      backoff (``backoff_s`` doubling up to ``backoff_max_s``) before each retry.
    - ``storm``: ``concurrency_multiple`` attempts at once under the planned key, each timed
      out at ``timeout_s`` and retried at once when it ends info, with no backoff.
    - ``careless``: as storm, but every attempt under a new key: its duplicates are the
      client's own, told apart by the logical payment each attempt carries.

    In every mode a planned write makes at most ``attempts_max`` attempts in all, and stops
    starting new ones once any attempt got a definite answer (ok or fail).
    """

    attempts_max: int = 10
    backoff_s: float = 0.25
    backoff_max_s: float = 2.0
    mode: str = "backoff"
    # The seed's storm: every in-flight request is given up on after 500 ms.
    timeout_s: float = 0.5
    concurrency_multiple: int = 1

    def __post_init__(self) -> None:
        assert self.mode in RETRY_MODES, f"retry mode {self.mode!r} is none of {RETRY_MODES}"
        assert self.concurrency_multiple >= 1, "a planned write is sent at least once"
        assert self.mode != "backoff" or self.concurrency_multiple == 1, "backoff is one at once"
        assert self.concurrency_multiple <= self.attempts_max, "each concurrent attempt counts"

    @property
    def new_key_per_attempt(self) -> bool:
        """Whether each attempt is sent under a key of its own (the careless client)."""
        return self.mode == "careless"


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

    @property
    def attempt_timeout_s(self) -> float:
        """How long the client waits for one request before it counts it info."""
        if self.retry.mode == "backoff":
            return self.request_timeout_s
        return self.retry.timeout_s


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
    # "async" or "sync" replication of the primary to its replica.
    replication: str = "async"


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


def _validate(data: object, path: Path) -> None:
    validator = jsonschema.Draft202012Validator(SCHEMA)
    errors = list(validator.iter_errors(data))
    if errors:
        first = min(errors, key=_error_order)
        raise ScenarioError(f"{path}: {_location(first)}: {schema_message(first)}")
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
    problem = retry_problem(workload)
    if problem is not None:
        raise ScenarioError(f"{path}: {problem}")
    problem = random_nemesis_problem(data)
    if problem is not None:
        raise ScenarioError(f"{path}: {problem}")


def _schedule(data: dict[str, Any], path: Path) -> tuple[FaultStep, ...]:
    # The random nemesis draws here, after validation; the whole schedule is then checked.
    faults, problem = scheduled_faults(data)
    if problem is not None:
        raise ScenarioError(f"{path}: {problem}")
    return tuple(fault_step(fault) for fault in faults)


def _check_invariants(data: dict[str, Any], path: Path, known: frozenset[str] | None) -> None:
    for name in data["invariants"]:
        if known is not None and name not in known:
            names = ", ".join(sorted(known))
            raise ScenarioError(f"{path}: invariants: unknown {name!r}; known: {names}")


def retry_problem(workload: dict[str, Any]) -> str | None:
    """What makes a (schema-valid) workload's retry settings contradict its retry mode, or None.

    >>> retry_problem({"retry": {"mode": "storm", "backoff_s": 1}})
    'workload.retry.backoff_s: mode storm retries at once, without backoff'
    """
    retry = workload.get("retry", {})
    mode = retry.get("mode", "backoff")
    if mode == "backoff":
        for name in ("timeout_s", "concurrency_multiple"):
            if name in retry:
                return (
                    f"workload.retry.{name}: only modes storm and careless take it (mode "
                    "backoff sends one attempt at a time, timed out at request_timeout_s)"
                )
        return None
    for name in ("backoff_s", "backoff_max_s"):
        if name in retry:
            return f"workload.retry.{name}: mode {mode} retries at once, without backoff"
    if "request_timeout_s" in workload:
        return f"workload.request_timeout_s: mode {mode} times requests out at retry.timeout_s"
    attempts_max = retry.get("attempts_max", RetryPolicy.attempts_max)
    concurrency_multiple = retry.get("concurrency_multiple", RetryPolicy.concurrency_multiple)
    if attempts_max < concurrency_multiple:
        return (
            f"workload.retry.attempts_max: {attempts_max} is fewer than concurrency_multiple "
            f"{concurrency_multiple} (each concurrent attempt is one attempt)"
        )
    return None


def load_scenario(
    name_or_path: str,
    *,
    known_invariants: frozenset[str] | None = None,
    seed: int | None = None,
) -> Scenario:
    """Load and validate a scenario; every problem is a one-line ScenarioError.

    `seed` replaces the file's: it drives the workload plan, the random nemesis and the proxy.
    """
    path = resolve_path(name_or_path)
    raw, data = read_scenario_document(path)
    if seed is not None:
        data["seed"] = seed
    _validate(data, path)
    faults = _schedule(data, path)
    _check_invariants(data, path, known_invariants)
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
        faults=faults,
        quiesce_timeout_s=float(data.get("quiesce", {}).get("timeout_s", 60)),
        replication=data.get("topology", {}).get("replication", "async"),
        invariants=tuple(data["invariants"]),
        source_path=str(path),
        source_sha256=hashlib.sha256(raw).hexdigest(),
    )
