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

from collections.abc import Iterator, Mapping, Sequence

from msgspec.structs import asdict

from invariants.evidence import op_evidence, union
from invariants.joins import MovementJoin, join_movements
from invariants.ledger_bounds import ledger_bound_anomalies
from invariants.model.final_state import UNRESOLVED_STATES, FinalState, Movement, NetworkRecord
from invariants.model.history import Op
from invariants.model.run import RunInputs
from invariants.movements import REFUND
from invariants.outcomes import (
    failure_acknowledged,
)
from invariants.read_backs import read_backs
from invariants.verdict import Anomaly, InvariantResult, decide

NAME = "no_lost_write"


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
            *read_backs(join, ops),
            *_approved_records(join, charge_of_authorization),
            *_succeeded_without_approval(join),
            *_unresolved_movements(join),
            *_contradicted_failures(join),
            *_phantom_movements(join),
        ]
    anomalies += ledger_bound_anomalies({join.kind.name: join for join in joins}, ops, final_state)
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
