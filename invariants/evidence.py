"""Evidence for anomalies: plain JSON data pointing back at ops, rows and active faults."""

from collections.abc import Iterable, Sequence

from msgspec.structs import asdict

from invariants.model.faults import FaultTimeline
from invariants.model.final_state import Movement, NetworkRecord
from invariants.model.history import Op
from invariants.movements import MovementKind


def op_evidence(op: Op, timeline: FaultTimeline) -> dict:
    """An op as evidence: its history indexes, outcome and the faults active while it ran."""
    return {
        "invoke_index": op.invoke_index,
        "completion_index": op.completion_index,
        "process": op.process,
        "f": op.f,
        "key": op.key,
        "type": op.type,
        "error": op.error,
        "invoke_time": op.invoke_time,
        "faults_active": list(timeline.active_during(op.invoke_time, op.completion_time)),
    }


def scope_evidence(
    kind: MovementKind,
    merchant: str | None,
    key: str | None,
    ops: Sequence[Op],
    movements: Iterable[Movement],
    records: Iterable[NetworkRecord],
    timeline: FaultTimeline,
) -> dict:
    """Everything known about one idempotency key of one kind: its ops, rows and records.

    Rows are listed under the kind's words, e.g. ``refund_ids``, ``refunds``,
    ``network_refund_ids`` and ``network_refunds`` for a refund key.
    """
    op_records = [op_evidence(op, timeline) for op in ops]
    movement_rows = [asdict(movement) for movement in movements]
    record_rows = [asdict(record) for record in records]
    return {
        "movement": kind.name,
        "merchant": merchant,
        "key": key,
        "op_indexes": [op.invoke_index for op in ops],
        f"{kind.name}_ids": [row["id"] for row in movement_rows],
        f"{kind.record_name}_ids": [row["id"] for row in record_rows],
        "faults_active": union(record["faults_active"] for record in op_records),
        "ops": op_records,
        kind.plural: movement_rows,
        kind.record_plural: record_rows,
    }


def union(name_lists: Iterable[Iterable[str]]) -> list[str]:
    """Names of several lists, each once, in first-seen order (faults in the order met)."""
    return list(dict.fromkeys(name for names in name_lists for name in names))
