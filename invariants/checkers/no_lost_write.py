"""no_lost_write: what was acknowledged, and what moved money, is on the primary, and only that.

Checks, for each kind of movement (charge, refund, payout), against the primary and the
network's records:

- every ``ok`` op names a row on the primary of its merchant and key (and, for a refund, of its
  charge), SUCCEEDED, with the acknowledged amount and the requested currency;
- a read-back right after an ``ok`` sees it: every read of an object invoked after its write
  was acknowledged ok finds it (not a 404) with the acknowledged amount and status. Reads of
  one object go to the primary (``system_under_test/api/reads.py``: only lists and the
  balance are display reads on the replica), so a miss is never replica lag: the write was
  lost, or acknowledged before it was committed;
- every approved network record references a SUCCEEDED row of the same amount and currency,
  and every SUCCEEDED row has an approved record (else it booked money that never moved); an
  approved record whose object is not on the primary quotes the ops it belongs to, by the
  object id their answers name, else by amount and currency among the ops whose outcome is
  unknown (the record's ``reference`` is the object's random id, which a request that
  crashed before its commit never told anyone);
- no row is left PENDING or PROCESSING after recovery quiesced;
- a key whose failure was acknowledged moved no money and has no SUCCEEDED row;
- every row comes from a key that an op of its kind and merchant sent (no phantoms);
- the Jepsen bound of uncertain writes (``invariants.outcomes``): per merchant, kind and
  currency, the money the ledger moved on the merchant's available balance (credited for
  charges, debited for refunds and payouts) lies between the amounts acknowledged ok and
  those plus the most the keys that ended ``info`` could have moved. It lives here, not in
  network_reconciliation, because it holds the ledger to what the clients were told (the
  history), where network_reconciliation holds it to the network's records: money missing
  below the bound is an acknowledged write lost from the books, money above it a write
  nobody asked for.

``info`` ops may or may not have happened: a key with only info ops may end with no row or
with one, and neither is an anomaly (more than one is no_double_charge's to report).

Anomaly kinds name the movement, e.g. ``acknowledged_refund_missing``,
``read_back_charge_missing``, ``approved_network_payout_without_payout``,
``phantom_refund``, ``charge_ledger_above_possible``.
"""

from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence

from msgspec.structs import asdict

from invariants.evidence import op_evidence, union
from invariants.joins import MovementJoin, Scope, join_movements
from invariants.model.final_state import UNRESOLVED_STATES, FinalState, Movement, NetworkRecord
from invariants.model.history import Op, op_payment
from invariants.model.run import RunInputs
from invariants.movements import REFUND
from invariants.outcomes import (
    KeyOutcome,
    LedgerBound,
    Outcome,
    failure_acknowledged,
    ledger_bounds,
)
from invariants.verdict import Anomaly, InvariantResult, decide

NAME = "no_lost_write"
# Keys and objects named in one bound anomaly's evidence; the rest are counted.
EVIDENCE_KEYS_MAX = 20
READ = "read"
NOT_FOUND = 404


def check(run: RunInputs) -> InvariantResult:
    """Check that no acknowledged write was lost and no unacknowledged one appeared.

    A missing row only counts when every final read completed (an incomplete read could have
    missed it); otherwise those checks are skipped and, without other anomalies, the verdict
    is unknown. So is a run whose ledger was not read: its bounds are unchecked.

    >>> check(run).verdict  # doctest: +SKIP
    <Verdict.VALID: 'valid'>
    """
    ops, final_state = run.ops, run.final_state
    joins = join_movements(run)
    charge_of_authorization = {
        record.id: record.reference for record in final_state.network_authorizations
    }
    anomalies: list[Anomaly] = []
    for join in joins:
        anomalies += [
            *_acknowledged_movements(join, ops),
            *_read_backs(join, ops),
            *_approved_records(join, charge_of_authorization),
            *_succeeded_without_approval(join),
            *_unresolved_movements(join),
            *_contradicted_failures(join),
            *_phantom_movements(join),
        ]
    anomalies += _ledger_bounds({join.kind.name: join for join in joins}, ops, final_state)
    return decide(NAME, anomalies, undecided_reason=_undecided_reason(final_state))


def _undecided_reason(final_state: FinalState) -> str | None:
    if final_state.incomplete_reason is not None:
        return final_state.incomplete_reason
    if not final_state.ledger_accounts:
        return "no ledger accounts were read: the ledger's money is not held to its bounds"
    return None


def _acknowledged_movements(join: MovementJoin, ops: Sequence[Op]) -> Iterator[Anomaly]:
    kind = join.kind
    for op in ops:
        if op.f != kind.name or op.type != "ok":
            continue
        assert op.completion_value is not None, "an ok carries a value (history contract)"
        assert op.invoke_value is not None, "an invoke carries a value (history contract)"
        movement_id = op.completion_value[kind.id_field]
        amount = op.completion_value["amount"]
        movement = join.movements_by_id.get(movement_id)
        if movement is None and not join.reads_complete:
            continue
        mismatches = {} if movement is None else _ownership_mismatches(join, op, movement)
        if movement is None:
            problem, detail = "missing", "is not on the primary"
        elif mismatches:
            fields = ", ".join(mismatches)
            problem, detail = "misattributed", f"belongs elsewhere ({fields} differ)"
        elif (movement.amount, movement.currency) != (amount, op.invoke_value["currency"]):
            problem, detail = "amount_mismatch", f"records {movement.amount} {movement.currency}"
        elif movement.state != "SUCCEEDED":
            problem, detail = "not_succeeded", f"is {movement.state}"
        else:
            continue
        # The op itself is among the key's ops in the evidence; op_index says which one.
        evidence = join.scope_evidence(op.invoke_value["merchant"], op.key)
        yield Anomaly(
            f"acknowledged_{kind.name}_{problem}",
            f"op at index {op.invoke_index} was acknowledged ok with {kind.name} {movement_id} "
            f"of amount {amount}, but that {kind.name} {detail}",
            {
                f"{kind.name}_id": movement_id,
                "op_index": op.invoke_index,
                **_misattribution(movement, mismatches),
                **evidence,
            },
        )


def _misattribution(movement: Movement | None, mismatches: dict[str, dict]) -> dict:
    # A misattributed row is not among the key's rows in the evidence: show it beside them.
    if movement is None or not mismatches:
        return {}
    return {"mismatches": mismatches, "found": asdict(movement)}


def _ownership_mismatches(join: MovementJoin, op: Op, movement: Movement) -> dict[str, dict]:
    """Fields where the row differs from the request that the op says made it."""
    assert op.invoke_value is not None, "an invoke carries a value (history contract)"
    expected = {
        "merchant": op.invoke_value["merchant"],
        "idempotency_key": op.key,
        **{name: op.invoke_value[name] for name in join.kind.invoke_fields},
    }
    return {
        name: {"requested": value, "found": getattr(movement, name)}
        for name, value in expected.items()
        if getattr(movement, name) != value
    }


def _read_backs(join: MovementJoin, ops: Sequence[Op]) -> Iterator[Anomaly]:
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
    if read.type == "fail" and (read.completion_value or {}).get("http_status") == NOT_FOUND:
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


def _approved_records(
    join: MovementJoin, charge_of_authorization: Mapping[str, str]
) -> Iterator[Anomaly]:
    kind = join.kind
    for record in join.records:
        if record.outcome != "approved":
            continue
        movement = join.movements_by_id.get(record.reference)
        if movement is None and not join.reads_complete:
            continue
        money = f"{record.amount} {record.currency}"
        described = f"{kind.record_name.replace('_', ' ')} {record.id} moved {money}"
        if movement is None:
            yield Anomaly(
                f"approved_{kind.record_name}_without_{kind.name}",
                f"{described} for reference {record.reference}, which is no {kind.name} on "
                "the primary: money moved that no object records, so nobody can refund, "
                "reconcile or recover it",
                {
                    **join.record_evidence(record),
                    **_record_ops_evidence(join, record, charge_of_authorization),
                },
            )
            continue
        if movement.state != "SUCCEEDED":
            problem, detail = f"{kind.name}_not_succeeded", f"is {movement.state}"
        elif (movement.amount, movement.currency) != (record.amount, record.currency):
            problem, detail = "amount_mismatch", f"records {movement.amount} {movement.currency}"
        else:
            continue
        yield Anomaly(
            f"approved_{kind.record_name}_{problem}",
            f"{described}, but {kind.name} {movement.id} {detail}",
            {f"{kind.record_name}_id": record.id, **join.movement_evidence(movement)},
        )


def _record_ops_evidence(
    join: MovementJoin, record: NetworkRecord, charge_of_authorization: Mapping[str, str]
) -> dict:
    """The ops an orphan record belongs to: those whose answer named its reference, else the
    ops of its money whose outcome is unknown (the attempt that sent it and never heard)."""
    kind = join.kind
    ops = [op for key_ops in join.ops_by_scope.values() for op in key_ops]
    matched_by = "the object id their answers name"
    found = [
        op
        for op in ops
        if op.completion_value is not None
        and op.completion_value.get(kind.id_field) == record.reference
    ]
    if not found:
        matched_by = f"{kind.name} amount and currency, among the ops whose outcome is unknown"
        charge_id = charge_of_authorization.get(getattr(record, "authorization_id", ""))
        found = [op for op in ops if op.type == "info" and _sent(op, record, charge_id)]
    found.sort(key=lambda op: op.invoke_index)
    quoted = [op_evidence(op, join.timeline) for op in found]
    return {
        "ops_matched_by": matched_by,
        "keys": list(dict.fromkeys(op.key for op in found)),
        "op_indexes": [op.invoke_index for op in found],
        "faults_active": union(entry["faults_active"] for entry in quoted),
        "ops": quoted,
    }


def _sent(op: Op, record: NetworkRecord, charge_id: str | None) -> bool:
    """Whether the op's request could be the one the network recorded."""
    request = op.invoke_value
    assert request is not None, "every invoke carries a value (history contract)"
    if request["currency"] != record.currency:
        return False
    if op.f == REFUND.name:
        # A refund of the rest of its charge names no amount; its charge names it.
        same_charge = charge_id is None or request["charge_id"] == charge_id
        return same_charge and request["amount"] in (None, record.amount)
    return request["amount"] == record.amount


def _succeeded_without_approval(join: MovementJoin) -> Iterator[Anomaly]:
    """A SUCCEEDED row with no approved network record booked money that never moved."""
    if not join.reads_complete:
        return
    kind = join.kind
    for movement in join.movements:
        if movement.state == "SUCCEEDED" and not join.approved.get(movement.id):
            yield Anomaly(
                f"{kind.name}_succeeded_without_approval",
                f"{kind.name} {movement.id} is SUCCEEDED for {movement.amount} "
                f"{movement.currency}, but the network approved no "
                f"{kind.record_name.replace('_', ' ')} for it",
                join.movement_evidence(movement),
            )


def _unresolved_movements(join: MovementJoin) -> Iterator[Anomaly]:
    kind = join.kind
    for movement in join.movements:
        if movement.state in UNRESOLVED_STATES:
            yield Anomaly(
                f"{kind.name}_unresolved",
                f"{kind.name} {movement.id} is still {movement.state} after recovery quiesced",
                join.movement_evidence(movement),
            )


def _contradicted_failures(join: MovementJoin) -> Iterator[Anomaly]:
    kind = join.kind
    for (merchant, key), ops in join.ops_by_scope.items():
        if not failure_acknowledged(ops):
            continue
        movements = join.movements_by_scope.get((merchant, key), [])
        succeeded = [movement.id for movement in movements if movement.state == "SUCCEEDED"]
        moved = [record.id for record in join.approved_of(movements)]
        if not (succeeded or moved):
            continue
        failures = [op.invoke_index for op in ops if op.type == "fail"]
        yield Anomaly(
            f"acknowledged_{kind.name}_failure_contradicted",
            f"{kind.name} key {key!r} of {merchant} was acknowledged failed (ops at "
            f"{failures}), but has SUCCEEDED {kind.plural} {succeeded} and approved "
            f"{kind.record_plural.replace('_', ' ')} {moved}",
            join.scope_evidence(merchant, key),
        )


def _phantom_movements(join: MovementJoin) -> Iterator[Anomaly]:
    kind = join.kind
    for movement in join.movements:
        if movement.idempotency_key is None:
            problem = f"has no idempotency key, but every {kind.name} op sends one"
        elif (movement.merchant, movement.idempotency_key) not in join.ops_by_scope:
            key = movement.idempotency_key
            problem = f"has key {key!r}, which no {kind.name} op of {movement.merchant} sent"
        else:
            continue
        yield Anomaly(
            f"phantom_{kind.name}",
            f"{kind.name} {movement.id} {problem}",
            join.movement_evidence(movement),
        )


def _ledger_bounds(
    joins: Mapping[str, MovementJoin], ops: Sequence[Op], final_state: FinalState
) -> Iterator[Anomaly]:
    """Per merchant, kind and currency: acknowledged <= ledger <= acknowledged + uncertain."""
    # Entries missing from an incomplete read would look like money lost.
    if not final_state.reads_complete or not final_state.ledger_accounts:
        return
    scoped = {name: join.ops_by_scope for name, join in joins.items()}
    for bound in ledger_bounds(ops, final_state, scoped):
        join = joins[bound.kind.name]
        if bound.moved < bound.lower:
            yield _below_bound(join, bound)
        elif bound.upper is not None and bound.moved > bound.upper:
            yield _above_bound(join, bound)


def _ledger_words(bound: LedgerBound) -> str:
    verb = "credits" if bound.kind.name == "charge" else "debits"
    money = f"{bound.moved} {bound.currency}"
    return f"The ledger {verb} merchant {bound.merchant} {money} for {bound.kind.plural}"


def _below_bound(join: MovementJoin, bound: LedgerBound) -> Anomaly:
    kind = join.kind
    done = [key for key in bound.keys if key.outcome is Outcome.DONE]
    by_scope, _ = _moved_by_scope(join, bound)
    short = [key.scope for key in done if by_scope.get(key.scope, 0) < (key.amount or 0)]
    cost = (
        "the merchant was told it was paid and is not"
        if kind.name == "charge"
        else "left the platform and is still in the merchant's balance, to be spent again"
    )
    missing = bound.lower - bound.moved
    return Anomaly(
        f"{kind.name}_ledger_below_acknowledged",
        f"{_ledger_words(bound)}, but {kind.plural} of {bound.lower} were acknowledged ok "
        f"({len(done)} keys): {missing} {bound.currency} {cost}.",
        _bound_evidence(join, bound, short, {}),
    )


def _above_bound(join: MovementJoin, bound: LedgerBound) -> Anomaly:
    allowed = {key.scope: key.amount or 0 for key in bound.keys}
    by_scope, keyless = _moved_by_scope(join, bound)
    over = [scope for scope, moved in by_scope.items() if moved > allowed.get(scope, 0)]
    assert bound.upper is not None, "only a bounded figure can be above its bound"
    uncertain = bound.upper - bound.lower
    excess = bound.moved - bound.upper
    return Anomaly(
        f"{join.kind.name}_ledger_above_possible",
        f"{_ledger_words(bound)}, more than the {bound.upper} its acknowledged "
        f"({bound.lower}) and uncertain ({uncertain}) {join.kind.plural} could have moved: "
        f"{excess} {bound.currency} moved that no request asked for.",
        _bound_evidence(join, bound, over, keyless),
    )


def _moved_by_scope(
    join: MovementJoin, bound: LedgerBound
) -> tuple[dict[Scope, int], dict[str, int]]:
    """The ledger's money moved per key (through the rows of the key), and per object id for
    the objects that have no key or no row."""
    by_scope: dict[Scope, int] = defaultdict(int)
    keyless: dict[str, int] = {}
    for object_id, moved in bound.moved_by_object.items():
        row = join.movements_by_id.get(object_id)
        if row is None or row.idempotency_key is None:
            keyless[object_id] = moved
        else:
            by_scope[(row.merchant, row.idempotency_key)] += moved
    return by_scope, keyless


def _bound_evidence(
    join: MovementJoin, bound: LedgerBound, culprits: list[Scope], keyless: dict[str, int]
) -> dict:
    """The bound, the ledger's figure, and the keys (with their ops) that break it."""
    keys = {key.scope: key for key in bound.keys}
    shown = culprits[:EVIDENCE_KEYS_MAX]
    ops = [op for scope in shown for op in join.ops_by_scope.get(scope, [])]
    quoted = [op_evidence(op, join.timeline) for op in ops]
    uncertain = [key.scope[1] for key in bound.keys if key.outcome is Outcome.UNCERTAIN]
    return {
        "movement": join.kind.name,
        "merchant": bound.merchant,
        "currency": bound.currency,
        "bound": {"acknowledged": bound.lower, "possible": bound.upper},
        "ledger": bound.moved,
        "uncertain_keys": uncertain[:EVIDENCE_KEYS_MAX],
        "uncertain_key_count": len(uncertain),
        "culprit_count": len(culprits) + len(keyless),
        "culprits": [_culprit(join, bound, keys.get(scope), scope) for scope in shown],
        "ledger_without_key": dict(list(keyless.items())[:EVIDENCE_KEYS_MAX]),
        "op_indexes": [op.invoke_index for op in ops],
        "faults_active": union(entry["faults_active"] for entry in quoted),
        "ops": quoted,
    }


def _culprit(join: MovementJoin, bound: LedgerBound, key: KeyOutcome | None, scope: Scope) -> dict:
    """One key that breaks the bound: what the history says of it and what the ledger holds."""
    rows = join.movements_by_scope.get(scope, [])
    return {
        "key": scope[1],
        "payment": op_payment(key.ops[0]) if key is not None else None,
        "outcome": key.outcome.value if key is not None else "never sent",
        "amount": key.amount if key is not None else 0,
        "ledger": sum(bound.moved_by_object.get(row.id, 0) for row in rows),
        f"{join.kind.name}_ids": [row.id for row in rows],
    }
