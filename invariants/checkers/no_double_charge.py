"""no_double_charge: one idempotency key moves money at most once, and no charge is refunded
beyond its amount.

For each kind of movement (charge, refund, payout) and each (merchant, idempotency key): at
most one row on the primary, and at most one approved network record over all rows of that
key. The network does not deduplicate, so its approved records, joined to rows by reference,
are the money that really moved. Per charge, the approved network refunds of its refunds sum
to at most the charge's amount.

Anomaly kinds name the movement: ``multiple_charges``, ``multiple_refunds``,
``multiple_payouts``, ``multiple_approved_authorizations``,
``multiple_approved_network_refunds``, ``multiple_approved_network_payouts``, ``over_refund``.
"""

from collections.abc import Iterator, Sequence

from msgspec.structs import asdict

from invariants.evidence import op_evidence, union
from invariants.joins import MovementJoin, join_movements
from invariants.model.final_state import Movement, NetworkRecord, Refund
from invariants.model.run import RunInputs
from invariants.movements import CHARGE, REFUND
from invariants.verdict import Anomaly, InvariantResult, decide

NAME = "no_double_charge"


def check(run: RunInputs) -> InvariantResult:
    """Check that no idempotency key moved money twice and no charge was over-refunded.

    Rows present prove a violation even when a read was incomplete; proving there is none
    needs complete reads, so incomplete reads without anomalies give unknown.

    >>> check(run).verdict  # doctest: +SKIP
    <Verdict.VALID: 'valid'>
    """
    final_state = run.final_state
    joins = join_movements(run)
    by_kind = {join.kind: join for join in joins}
    anomalies: list[Anomaly] = []
    for join in joins:
        anomalies += _double_movements(join)
    anomalies += _over_refunds(by_kind[CHARGE], by_kind[REFUND], final_state.refunds)
    return decide(NAME, anomalies, undecided_reason=final_state.incomplete_reason)


def _double_movements(join: MovementJoin) -> Iterator[Anomaly]:
    for (merchant, key), movements in join.movements_by_scope.items():
        yield from _double_movement(join, merchant, key, movements)
    # A row stored without its key joins no scope, but the network approving it twice moved
    # money twice all the same (no_lost_write reports the missing key itself).
    for movement in join.movements:
        if movement.idempotency_key is None:
            yield from _double_movement(join, movement.merchant, None, [movement])


def _double_movement(
    join: MovementJoin, merchant: str, key: str | None, movements: list[Movement]
) -> Iterator[Anomaly]:
    kind = join.kind
    records = join.approved_of(movements)
    if len(movements) <= 1 and len(records) <= 1:
        return
    if key is None:
        evidence = join.movement_evidence(movements[0])
    else:
        evidence = join.scope_evidence(merchant, key)
    if len(movements) > 1:
        ids = ", ".join(evidence[f"{kind.name}_ids"])
        yield Anomaly(
            f"multiple_{kind.plural}",
            f"{kind.name} key {key!r} of {merchant} has {len(movements)} {kind.plural} on the "
            f"primary: {ids}",
            evidence,
        )
    if len(records) > 1:
        ids = ", ".join(evidence[f"{kind.record_name}_ids"])
        extra = sum(record.amount for record in records[1:])
        currency = records[0].currency
        yield Anomaly(
            f"multiple_approved_{kind.record_plural}",
            f"{kind.name} key {key!r} of {merchant} moved money {len(records)} times: approved "
            f"{kind.record_plural.replace('_', ' ')} {ids}. One request, one movement: the "
            f"other {len(records) - 1} moved {extra} {currency} that nobody asked to move.",
            evidence,
        )


def _over_refunds(
    charges: MovementJoin, refunds: MovementJoin, rows: Sequence[Refund]
) -> Iterator[Anomaly]:
    refunds_by_charge: dict[str, list[Refund]] = {}
    for refund in rows:
        refunds_by_charge.setdefault(refund.charge_id, []).append(refund)
    for charge_id, charge_refunds in refunds_by_charge.items():
        charge = charges.movements_by_id.get(charge_id)
        # A refund of a charge the primary does not have cannot be weighed against it.
        if charge is None:
            continue
        records = refunds.approved_of(charge_refunds)
        refunded = sum(record.amount for record in records)
        if refunded <= charge.amount:
            continue
        yield Anomaly(
            "over_refund",
            f"charge {charge.id} of {charge.amount} {charge.currency} was refunded {refunded} "
            f"by approved network refunds {', '.join(record.id for record in records)}",
            _over_refund_evidence(refunds, charge, charge_refunds, records),
        )


def _over_refund_evidence(
    refunds: MovementJoin,
    charge: Movement,
    charge_refunds: list[Refund],
    records: list[NetworkRecord],
) -> dict:
    # The refunds' own ops, with the faults they met, point at the requests that refunded.
    scopes = dict.fromkeys(
        (refund.merchant, refund.idempotency_key)
        for refund in charge_refunds
        if refund.idempotency_key is not None
    )
    ops = [op for scope in scopes for op in refunds.ops_by_scope.get(scope, [])]
    op_records = [op_evidence(op, refunds.timeline) for op in ops]
    return {
        "movement": REFUND.name,
        "merchant": charge.merchant,
        "charge_id": charge.id,
        "refunded": sum(record.amount for record in records),
        "keys": [key for _, key in scopes],
        "op_indexes": [op.invoke_index for op in ops],
        "refund_ids": [refund.id for refund in charge_refunds],
        "network_refund_ids": [record.id for record in records],
        "faults_active": union(record["faults_active"] for record in op_records),
        "ops": op_records,
        "charge": asdict(charge),
        "refunds": [asdict(refund) for refund in charge_refunds],
        "network_refunds": [asdict(record) for record in records],
    }
