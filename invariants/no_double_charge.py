"""no_double_charge: one idempotency key moves money at most once.

Per (merchant, idempotency key): at most one charge on the primary, and at most one approved
network authorization over all charges of that key. The card network does not deduplicate, so
its approved authorizations, joined to charges by reference, are the money that really moved.
"""

from collections.abc import Sequence

from invariants.evidence import scope_evidence
from invariants.faults import FaultTimeline, FaultWindow
from invariants.final_state import Charge, FinalState, NetworkAuthorization
from invariants.history import Op
from invariants.joins import approved_by_reference, charge_ops_by_scope, charges_by_scope
from invariants.verdict import Anomaly, InvariantResult, decide

NAME = "no_double_charge"


def check(
    ops: Sequence[Op], fault_windows: Sequence[FaultWindow], final_state: FinalState
) -> InvariantResult:
    """Check that no idempotency key was charged twice.

    Rows present prove a double charge even when a read was incomplete; proving there is none
    needs complete reads, so incomplete reads without anomalies give unknown.

    >>> check(ops, windows, final_state).verdict  # doctest: +SKIP
    <Verdict.VALID: 'valid'>
    """
    timeline = FaultTimeline(fault_windows)
    ops_by_scope = charge_ops_by_scope(ops)
    approved = approved_by_reference(final_state.network_authorizations)
    anomalies: list[Anomaly] = []
    for (merchant, key), charges in charges_by_scope(final_state.charges).items():
        scope_ops = ops_by_scope.get((merchant, key), [])
        anomalies += _double_charges(merchant, key, charges, scope_ops, approved, timeline)
    # A charge stored without its key joins no scope, but the network approving it twice is a
    # double charge all the same (no_lost_write reports the missing key itself).
    for charge in final_state.charges:
        if charge.idempotency_key is None:
            anomalies += _double_charges(charge.merchant, None, [charge], [], approved, timeline)
    return decide(NAME, anomalies, undecided_reason=final_state.incomplete_reason)


def _double_charges(
    merchant: str,
    key: str | None,
    charges: list[Charge],
    ops: list[Op],
    approved: dict[str, list[NetworkAuthorization]],
    timeline: FaultTimeline,
) -> list[Anomaly]:
    authorizations = [found for charge in charges for found in approved.get(charge.id, [])]
    if len(charges) <= 1 and len(authorizations) <= 1:
        return []
    evidence = scope_evidence(merchant, key, ops, charges, authorizations, timeline)
    anomalies = []
    if len(charges) > 1:
        message = (
            f"key {key!r} of {merchant} has {len(charges)} charges on the primary: "
            f"{', '.join(evidence['charge_ids'])}"
        )
        anomalies.append(Anomaly("multiple_charges", message, evidence))
    if len(authorizations) > 1:
        message = (
            f"key {key!r} of {merchant} moved money {len(authorizations)} times: approved "
            f"authorizations {', '.join(evidence['authorization_ids'])}"
        )
        anomalies.append(Anomaly("multiple_approved_authorizations", message, evidence))
    return anomalies
