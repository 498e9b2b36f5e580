"""no_lost_write: what was acknowledged, and what moved money, is on the primary, and only that.

Checks, for each kind of movement (charge, refund, payout), against the primary and the
network's records:

- every ``ok`` op names a row on the primary of its merchant and key (and, for a refund, of its
  charge), SUCCEEDED, with the acknowledged amount and the requested currency;
- every approved network record references a SUCCEEDED row of the same amount and currency,
  and every SUCCEEDED row has an approved record (else it booked money that never moved);
- no row is left PENDING or PROCESSING after recovery quiesced;
- a key whose failure was acknowledged moved no money and has no SUCCEEDED row;
- every row comes from a key that an op of its kind and merchant sent (no phantoms).

``info`` ops may or may not have happened: a key with only info ops may end with no row or
with one, and neither is an anomaly (more than one is no_double_charge's to report).

Anomaly kinds name the movement, e.g. ``acknowledged_refund_missing``,
``approved_network_payout_without_payout``, ``phantom_refund``.
"""

from collections.abc import Iterator, Sequence
from dataclasses import asdict

from invariants.joins import MovementJoin, join_movements
from invariants.model.faults import FaultTimeline
from invariants.model.final_state import UNRESOLVED_STATES, Movement
from invariants.model.history import Op
from invariants.model.run import RunInputs
from invariants.verdict import Anomaly, InvariantResult, decide

NAME = "no_lost_write"

# Fail errors that reject the request itself (bad parameters, key reused with other
# parameters, not enough balance, nothing left to refund): nothing was written for that
# attempt, but another attempt of the key may have moved money. Every other fail error reports
# the outcome of the key's movement (a decline, or the network refusing a refund or payout).
REQUEST_REJECTION_ERRORS = frozenset(
    {
        "idempotency_error",
        "invalid_request_error",
        "balance_insufficient",
        "charge_already_refunded",
        "amount_too_large",
        "resource_missing",
        "parameter_unknown",
        "parameter_missing",
    }
)


def check(run: RunInputs) -> InvariantResult:
    """Check that no acknowledged write was lost and no unacknowledged one appeared.

    A missing row only counts when every final read completed (an incomplete read could have
    missed it); otherwise those checks are skipped and, without other anomalies, the verdict
    is unknown.

    >>> check(run).verdict  # doctest: +SKIP
    <Verdict.VALID: 'valid'>
    """
    ops, fault_windows, final_state = run.ops, run.fault_windows, run.final_state
    anomalies: list[Anomaly] = []
    for join in join_movements(ops, FaultTimeline(fault_windows), final_state):
        anomalies += [
            *_acknowledged_movements(join, ops),
            *_approved_records(join),
            *_succeeded_without_approval(join),
            *_unresolved_movements(join),
            *_contradicted_failures(join),
            *_phantom_movements(join),
        ]
    return decide(NAME, anomalies, undecided_reason=final_state.incomplete_reason)


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


def _approved_records(join: MovementJoin) -> Iterator[Anomaly]:
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
                "the primary",
                join.record_evidence(record),
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
        if not _failure_acknowledged(ops):
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


def _failure_acknowledged(ops: list[Op]) -> bool:
    """Whether the SUT said this key's movement definitely did not happen.

    Either a fail reported the movement's outcome (a decline, a refusal by the network), or
    every attempt was rejected.
    """
    failures = [op for op in ops if op.type == "fail"]
    if any(op.error not in REQUEST_REJECTION_ERRORS for op in failures):
        return True
    return bool(failures) and len(failures) == len(ops)


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
