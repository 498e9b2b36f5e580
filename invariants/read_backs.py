"""Read-backs in no_lost_write: every read of an object invoked after its write was
acknowledged ok must see it, with the acknowledged amount and status.

Reads of one object go to the primary (``system_under_test/api/reads.py``: only lists and the
balance are display reads on the replica), so a miss is never replica lag: the write was lost,
or acknowledged before it was committed.
"""

from collections.abc import Iterator, Sequence

from msgspec.structs import asdict

from invariants.api_answers import NOT_FOUND_STATUS
from invariants.evidence import op_evidence, union
from invariants.joins import MovementJoin
from invariants.model.history import Op
from invariants.verdict import Anomaly

READ = "read"


def read_backs(join: MovementJoin, ops: Sequence[Op]) -> Iterator[Anomaly]:
    """Each read of an object invoked after its write was acknowledged ok must see it.

    A read invoked before the acknowledgement arrived may miss it (the write may not have
    committed yet), and a read that ended info or was refused for another reason (a limiter's
    429) says nothing of the object: neither is judged.
    """
    kind = join.kind
    acknowledged = _first_acknowledgements(join, ops)
    for read in ops:
        request = read.invoke_value
        if read.f != READ or request is None or request["object"] != kind.name:
            continue
        ack = acknowledged.get((request["merchant"], request["id"]))
        if ack is None or (ack.completion_index or 0) > read.invoke_index:
            continue
        problem = _read_back_problem(kind.id_field, ack, read)
        if problem is None:
            continue
        yield _read_back_anomaly(join, ack, read, *problem)


def _first_acknowledgements(join: MovementJoin, ops: Sequence[Op]) -> dict[tuple[str, str], Op]:
    """(merchant, object id) -> the ok op of the kind that first acknowledged the object."""
    kind = join.kind
    first: dict[tuple[str, str], Op] = {}
    for op in ops:
        if op.f != kind.name or op.type != "ok" or op.completion_index is None:
            continue
        assert op.invoke_value is not None and op.completion_value is not None
        scope = (op.invoke_value["merchant"], op.completion_value[kind.id_field])
        earlier = first.get(scope)
        if earlier is None or op.completion_index < (earlier.completion_index or 0):
            first[scope] = op
    return first


def _read_back_problem(id_field: str, ack: Op, read: Op) -> tuple[str, str, dict] | None:
    """(problem, what the read found, mismatches) when the read missed the acknowledged write."""
    assert ack.completion_value is not None, "an ok carries a value"
    expected = {
        "id": ack.completion_value[id_field],
        "amount": ack.completion_value["amount"],
        "status": ack.completion_value["status"],
    }
    if read.type == "fail" and (read.completion_value or {}).get("http_status") == NOT_FOUND_STATUS:
        return "missing", "no such object (404)", {}
    if read.type != "ok":
        return None
    assert read.completion_value is not None, "an ok carries a value"
    mismatches = {
        name: {"acknowledged": value, "read": read.completion_value[name]}
        for name, value in expected.items()
        if read.completion_value[name] != value
    }
    if not mismatches:
        return None
    found = ", ".join(f"{name} {diff['read']!r}" for name, diff in mismatches.items())
    return "differs", found, mismatches


def _read_back_anomaly(
    join: MovementJoin, ack: Op, read: Op, problem: str, found: str, mismatches: dict
) -> Anomaly:
    kind = join.kind
    assert ack.completion_value is not None and read.invoke_value is not None
    object_id = read.invoke_value["id"]
    quoted = [op_evidence(ack, join.timeline), op_evidence(read, join.timeline)]
    row = join.movements_by_id.get(object_id)
    return Anomaly(
        f"read_back_{kind.name}_{problem}",
        f"{kind.name} {object_id} was acknowledged ok at index {ack.completion_index} for "
        f"{ack.completion_value['amount']}, but its read-back from the primary at index "
        f"{read.invoke_index} found {found}: the client was told of money moved that the "
        "primary did not hold right after (a lost write, or an answer sent before its commit).",
        {
            "movement": kind.name,
            f"{kind.name}_id": object_id,
            "merchant": read.invoke_value["merchant"],
            "key": ack.key,
            "op_indexes": [ack.invoke_index, read.invoke_index],
            "read_value": read.completion_value,
            "mismatches": mismatches,
            "faults_active": union(entry["faults_active"] for entry in quoted),
            "ops": quoted,
            kind.plural: [] if row is None else [asdict(row)],
        },
    )
