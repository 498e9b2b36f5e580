"""Joins between the history and the final state, one kind of money movement at a time.

Idempotency keys are scoped per merchant account (as in Stripe): (merchant, key). The same key
string sent by two merchants names two requests, and must not look like a double charge. Keys
are also scoped per kind: a refund's key never joins a charge.

A logical payment (what the client meant to do once) is scoped the same way, (merchant,
payment); a careless client sends one under several keys (``invariants.model.history``).
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from msgspec.structs import asdict

from invariants.evidence import scope_evidence
from invariants.model.faults import FaultTimeline
from invariants.model.final_state import Movement, NetworkRecord
from invariants.model.history import Op, op_payment
from invariants.model.run import RunInputs
from invariants.movements import MOVEMENT_KINDS, MovementKind

Scope = tuple[str, str]


def op_scope(op: Op) -> Scope:
    """The (merchant, key) an op acted in."""
    assert op.invoke_value is not None, "every invoke carries a value (history contract)"
    return op.invoke_value["merchant"], op.key


def ops_by_scope(ops: Iterable[Op], kind: MovementKind) -> dict[Scope, list[Op]]:
    """The kind's write ops grouped by (merchant, key), each group in invoke order."""
    groups: dict[Scope, list[Op]] = {}
    for op in ops:
        if op.f == kind.name:
            groups.setdefault(op_scope(op), []).append(op)
    return groups


def scoped_ops(run: RunInputs) -> dict[str, dict[Scope, list[Op]]]:
    """Every kind's write ops grouped by (merchant, key), in one pass over the history, built
    once per run and shared by its checkers."""
    cached = run.derived.get("scoped_ops")
    if cached is None:
        cached = {kind.name: {} for kind in MOVEMENT_KINDS}
        for op in run.ops:
            groups = cached.get(op.f)
            if groups is not None:
                groups.setdefault(op_scope(op), []).append(op)
        run.derived["scoped_ops"] = cached
    return cached  # type: ignore[return-value]


def payments_by_scope(ops: Iterable[Op], kind: MovementKind) -> dict[Scope, Scope]:
    """Each (merchant, key) of the kind's writes -> the (merchant, payment) it was sent for.

    The history allows one payment per key, so the first op of a key names it.
    """
    payments: dict[Scope, Scope] = {}
    for op in ops:
        if op.f == kind.name:
            merchant, key = op_scope(op)
            payments.setdefault((merchant, key), (merchant, op_payment(op)))
    return payments


def movements_by_scope(movements: Iterable[Movement]) -> dict[Scope, list[Movement]]:
    """Rows grouped by (merchant, idempotency key); rows without a key are left out."""
    groups: dict[Scope, list[Movement]] = {}
    for movement in movements:
        if movement.idempotency_key is not None:
            groups.setdefault((movement.merchant, movement.idempotency_key), []).append(movement)
    return groups


def approved_by_reference(records: Iterable[NetworkRecord]) -> dict[str, list[NetworkRecord]]:
    """Approved network records (money moved) grouped by the object id they reference."""
    groups: dict[str, list[NetworkRecord]] = {}
    for record in records:
        if record.outcome == "approved":
            groups.setdefault(record.reference, []).append(record)
    return groups


@dataclass(frozen=True)
class MovementJoin:
    """One kind's ops, rows and network records, indexed once so every check is a lookup."""

    kind: MovementKind
    timeline: FaultTimeline
    # Whether a missing row really is missing (every final read completed).
    reads_complete: bool
    ops_by_scope: dict[Scope, list[Op]]
    movements: Sequence[Movement]
    movements_by_id: dict[str, Movement]
    movements_by_scope: dict[Scope, list[Movement]]
    records: Sequence[NetworkRecord]
    approved: dict[str, list[NetworkRecord]]

    @classmethod
    def of(cls, run: RunInputs, kind: MovementKind) -> "MovementJoin":
        """The kind's join for ``run``, built once and shared by the run's checkers (which
        only read it)."""
        join = run.derived.get(("join", kind.name))
        if join is None:
            join = run.derived[("join", kind.name)] = cls._build(run, kind)
        return join  # type: ignore[return-value]

    @classmethod
    def _build(cls, run: RunInputs, kind: MovementKind) -> "MovementJoin":
        state = run.final_state
        movements = kind.objects(state)
        records = kind.records(state)
        return cls(
            kind=kind,
            timeline=run.timeline,
            reads_complete=state.reads_complete,
            ops_by_scope=scoped_ops(run)[kind.name],
            movements=movements,
            movements_by_id={movement.id: movement for movement in movements},
            movements_by_scope=movements_by_scope(movements),
            records=records,
            approved=approved_by_reference(records),
        )

    def approved_of(self, movements: Iterable[Movement]) -> list[NetworkRecord]:
        """The approved records referencing any of ``movements``, in their order."""
        return [record for movement in movements for record in self.approved.get(movement.id, [])]

    def scope_evidence(self, merchant: str, key: str) -> dict:
        """Evidence about one key: its ops, its rows and their approved records."""
        movements = self.movements_by_scope.get((merchant, key), [])
        ops = self.ops_by_scope.get((merchant, key), [])
        return scope_evidence(
            self.kind, merchant, key, ops, movements, self.approved_of(movements), self.timeline
        )

    def movement_evidence(self, movement: Movement) -> dict:
        """Evidence about one row: its key's evidence, or the row alone when keyless."""
        if movement.idempotency_key is not None:
            evidence = self.scope_evidence(movement.merchant, movement.idempotency_key)
        else:
            evidence = scope_evidence(
                self.kind,
                movement.merchant,
                None,
                [],
                [movement],
                self.approved_of([movement]),
                self.timeline,
            )
        return {f"{self.kind.name}_id": movement.id, **evidence}

    def record_evidence(self, record: NetworkRecord) -> dict:
        """Evidence about a network record whose object is not on the primary."""
        return {
            "movement": self.kind.name,
            f"{self.kind.record_name}_id": record.id,
            "reference": record.reference,
            self.kind.record_name: asdict(record),
        }


def join_movements(run: RunInputs) -> list[MovementJoin]:
    """One join per kind of movement, in the order of :data:`MOVEMENT_KINDS`."""
    return [MovementJoin.of(run, kind) for kind in MOVEMENT_KINDS]
