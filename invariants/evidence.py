"""Evidence for anomalies: plain JSON data pointing back at ops, rows and active faults."""

from collections.abc import Iterable, Sequence
from dataclasses import asdict

from invariants.faults import FaultTimeline
from invariants.final_state import Charge, NetworkAuthorization
from invariants.history import Op


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
    merchant: str | None,
    key: str | None,
    ops: Sequence[Op],
    charges: Iterable[Charge],
    authorizations: Iterable[NetworkAuthorization],
    timeline: FaultTimeline,
) -> dict:
    """Everything known about one idempotency key: its ops, charges and authorizations."""
    op_records = [op_evidence(op, timeline) for op in ops]
    charge_rows = [asdict(charge) for charge in charges]
    authorization_rows = [asdict(authorization) for authorization in authorizations]
    return {
        "merchant": merchant,
        "key": key,
        "op_indexes": [op.invoke_index for op in ops],
        "charge_ids": [row["id"] for row in charge_rows],
        "authorization_ids": [row["id"] for row in authorization_rows],
        "faults_active": _union(record["faults_active"] for record in op_records),
        "ops": op_records,
        "charges": charge_rows,
        "authorizations": authorization_rows,
    }


def _union(name_lists: Iterable[list[str]]) -> list[str]:
    # dict keeps first-seen order, so faults read in the order the ops met them.
    return list(dict.fromkeys(name for names in name_lists for name in names))
