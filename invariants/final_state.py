"""The final state read after the run: charges on the primary, the network's authorizations."""

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from types import NoneType
from typing import TypeVar

from invariants.errors import RunFileError
from invariants.records import Shape, gc_paused, require_choice

CHARGE_STATES = frozenset({"PENDING", "PROCESSING", "SUCCEEDED", "FAILED"})
UNRESOLVED_CHARGE_STATES = frozenset({"PENDING", "PROCESSING"})
CHARGE_RESOLVERS = frozenset({"api", "recovery", None})
AUTHORIZATION_OUTCOMES = frozenset({"approved", "declined", "expired"})


@dataclass(frozen=True, slots=True)
class Charge:
    """A charge row on the PostgreSQL primary."""

    id: str
    merchant: str
    idempotency_key: str | None
    amount: int
    currency: str
    state: str
    failure_code: str | None
    resolved_by: str | None


@dataclass(frozen=True, slots=True)
class NetworkAuthorization:
    """An authorization the card network simulator recorded; ``approved`` ones moved money."""

    id: str
    reference: str
    amount: int
    currency: str
    outcome: str
    decline_code: str | None


@dataclass(frozen=True, slots=True)
class Balance:
    """A merchant's available balance on the primary."""

    merchant: str
    available: int


@dataclass(frozen=True, slots=True)
class IdempotencyKeyRecord:
    """An idempotency key row on the primary with its recovery point."""

    merchant: str
    key: str
    recovery_point: str
    response_code: int | None


@dataclass(frozen=True, slots=True)
class FinalState:
    """Everything read after the run. ``read_time`` is nanoseconds since run start."""

    complete: bool
    errors: tuple[str, ...]
    read_time: int
    charges: tuple[Charge, ...]
    network_authorizations: tuple[NetworkAuthorization, ...]
    balances: tuple[Balance, ...]
    idempotency_keys: tuple[IdempotencyKeyRecord, ...]

    @property
    def reads_complete(self) -> bool:
        """Whether every read succeeded, so that a missing row really is missing."""
        return self.complete and not self.errors

    @property
    def incomplete_reason(self) -> str | None:
        """Why the final reads cannot be trusted to be whole, or ``None`` when they can."""
        if self.reads_complete:
            return None
        errors = "; ".join(self.errors) or "none"
        return f"final state reads incomplete (complete={self.complete}, errors: {errors})"


def load_final_state(path: Path) -> FinalState:
    """Load and validate ``final_state.json``.

    >>> state = load_final_state(Path("reports/runs/latest/final_state.json"))  # doctest: +SKIP
    """
    with gc_paused():
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as error:
            location = f"line {error.lineno} column {error.colno}"
            raise RunFileError(f"{path}: not valid JSON ({error.msg} at {location})") from None
        return parse_final_state(document, source=str(path))


def parse_final_state(document: object, *, source: str = "final_state.json") -> FinalState:
    """Validate a decoded final state document; errors name the row, e.g. ``charges[3]``."""
    if type(document) is not dict:
        raise RunFileError(f"{source}: expected a JSON object")
    _DOCUMENT_SHAPE.check(document, source)
    for position, error in enumerate(document["errors"]):
        if type(error) is not str:
            raise RunFileError(f"{source}: errors[{position}] must be a string")
    with gc_paused():
        charges = _rows(document, "charges", _charge, source)
        authorizations = _rows(document, "network_authorizations", _authorization, source)
        balances = _rows(document, "balances", _balance, source)
        idempotency_keys = _rows(document, "idempotency_keys", _idempotency_key, source)
    _require_unique_ids(charges, "charges", source)
    _require_unique_ids(authorizations, "network_authorizations", source)
    return FinalState(
        complete=document["complete"],
        errors=tuple(document["errors"]),
        read_time=document["read_time"],
        charges=charges,
        network_authorizations=authorizations,
        balances=balances,
        idempotency_keys=idempotency_keys,
    )


Row = TypeVar("Row")


def _rows(
    document: dict, name: str, parse_row: Callable[[dict, str], Row], source: str
) -> tuple[Row, ...]:
    parsed = []
    for position, row in enumerate(document[name]):
        where = f"{source}: {name}[{position}]"
        if type(row) is not dict:
            raise RunFileError(f"{where}: expected an object")
        parsed.append(parse_row(row, where))
    return tuple(parsed)


def _require_unique_ids(
    rows: Iterable[Charge | NetworkAuthorization], name: str, source: str
) -> None:
    # Rows are joined by id; a repeated id would make every join ambiguous.
    seen: set[str] = set()
    for position, row in enumerate(rows):
        if row.id in seen:
            raise RunFileError(f"{source}: {name}[{position}]: id {row.id!r} appears twice")
        seen.add(row.id)


_DOCUMENT_SHAPE = Shape(
    complete=bool,
    errors=list,
    read_time=int,
    charges=list,
    network_authorizations=list,
    balances=list,
    idempotency_keys=list,
)
_CHARGE_SHAPE = Shape(
    id=str,
    merchant=str,
    idempotency_key=(str, NoneType),
    amount=int,
    currency=str,
    state=str,
    failure_code=(str, NoneType),
    resolved_by=(str, NoneType),
)
_AUTHORIZATION_SHAPE = Shape(
    id=str, reference=str, amount=int, currency=str, outcome=str, decline_code=(str, NoneType)
)
_BALANCE_SHAPE = Shape(merchant=str, available=int)
_IDEMPOTENCY_KEY_SHAPE = Shape(
    merchant=str, key=str, recovery_point=str, response_code=(int, NoneType)
)


def _charge(row: dict, where: str) -> Charge:
    charge = Charge(**_CHARGE_SHAPE.pick(row, where))
    require_choice(row, "state", CHARGE_STATES, where)
    require_choice(row, "resolved_by", CHARGE_RESOLVERS, where)
    return charge


def _authorization(row: dict, where: str) -> NetworkAuthorization:
    authorization = NetworkAuthorization(**_AUTHORIZATION_SHAPE.pick(row, where))
    require_choice(row, "outcome", AUTHORIZATION_OUTCOMES, where)
    return authorization


def _balance(row: dict, where: str) -> Balance:
    return Balance(**_BALANCE_SHAPE.pick(row, where))


def _idempotency_key(row: dict, where: str) -> IdempotencyKeyRecord:
    return IdempotencyKeyRecord(**_IDEMPOTENCY_KEY_SHAPE.pick(row, where))
