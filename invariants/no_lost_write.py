"""no_lost_write: what was acknowledged, and what moved money, is on the primary, and only that.

Checks, against the primary and the card network's records:

- every ``ok`` charge op names a charge on the primary, SUCCEEDED, with the acknowledged amount;
- every approved authorization references a SUCCEEDED charge of the same amount and currency;
- no charge is left PENDING or PROCESSING after recovery quiesced;
- a key whose failure was acknowledged moved no money and has no SUCCEEDED charge;
- every charge comes from a key the workload invoked (no phantom charges).

``info`` ops may or may not have happened: a key with only info ops may end with no charge or
with one, and neither is an anomaly (more than one is no_double_charge's to report).
"""

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from invariants.evidence import scope_evidence
from invariants.faults import FaultTimeline, FaultWindow
from invariants.final_state import (
    UNRESOLVED_CHARGE_STATES,
    Charge,
    FinalState,
    NetworkAuthorization,
)
from invariants.history import Op
from invariants.joins import Scope, approved_by_reference, charge_ops_by_scope, charges_by_scope
from invariants.verdict import Anomaly, InvariantResult, decide

NAME = "no_lost_write"

# Fail errors that reject the request itself (bad parameters, key reused with other
# parameters): no money moved for that attempt, but another attempt of the key may have
# charged. Every other fail error reports the outcome of the key's charge (a decline).
REQUEST_REJECTION_ERRORS = frozenset({"idempotency_error", "invalid_request_error"})


def check(
    ops: Sequence[Op], fault_windows: Sequence[FaultWindow], final_state: FinalState
) -> InvariantResult:
    """Check that no acknowledged write was lost and no unacknowledged one appeared.

    A missing row only counts when every final read completed (an incomplete read could have
    missed it); otherwise those checks are skipped and, without other anomalies, the verdict
    is unknown.

    >>> check(ops, windows, final_state).verdict  # doctest: +SKIP
    <Verdict.VALID: 'valid'>
    """
    joined = _Joined.build(ops, fault_windows, final_state)
    anomalies = [
        *_acknowledged_charges(joined, ops),
        *_approved_authorizations(joined, final_state.network_authorizations),
        *_unresolved_charges(joined, final_state.charges),
        *_contradicted_failures(joined),
        *_phantom_charges(joined, final_state.charges),
    ]
    return decide(NAME, anomalies, undecided_reason=final_state.incomplete_reason)


@dataclass(frozen=True)
class _Joined:
    """The history and final state indexed once, so that every check is a dict lookup."""

    timeline: FaultTimeline
    # Whether a missing row really is missing (every final read completed).
    reads_complete: bool
    ops_by_scope: dict[Scope, list[Op]]
    charges_by_id: dict[str, Charge]
    charges_by_scope: dict[Scope, list[Charge]]
    approved: dict[str, list[NetworkAuthorization]]

    @classmethod
    def build(
        cls, ops: Sequence[Op], fault_windows: Sequence[FaultWindow], final_state: FinalState
    ) -> "_Joined":
        return cls(
            timeline=FaultTimeline(fault_windows),
            reads_complete=final_state.reads_complete,
            ops_by_scope=charge_ops_by_scope(ops),
            charges_by_id={charge.id: charge for charge in final_state.charges},
            charges_by_scope=charges_by_scope(final_state.charges),
            approved=approved_by_reference(final_state.network_authorizations),
        )

    def scope_evidence(self, merchant: str, key: str) -> dict:
        """Evidence about one key: its ops, its charges and their approved authorizations."""
        charges = self.charges_by_scope.get((merchant, key), [])
        authorizations = [found for charge in charges for found in self.approved.get(charge.id, [])]
        ops = self.ops_by_scope.get((merchant, key), [])
        return scope_evidence(merchant, key, ops, charges, authorizations, self.timeline)

    def charge_evidence(self, charge: Charge) -> dict:
        """Evidence about a charge: its key's evidence, or the charge alone when keyless."""
        if charge.idempotency_key is not None:
            evidence = self.scope_evidence(charge.merchant, charge.idempotency_key)
        else:
            authorizations = self.approved.get(charge.id, [])
            evidence = scope_evidence(
                charge.merchant, None, [], [charge], authorizations, self.timeline
            )
        return {"charge_id": charge.id, **evidence}


def _acknowledged_charges(joined: _Joined, ops: Sequence[Op]) -> Iterator[Anomaly]:
    for op in ops:
        if op.f != "charge" or op.type != "ok":
            continue
        assert op.completion_value is not None, "charge ok carries a value (history contract)"
        assert op.invoke_value is not None, "charge invoke carries a value (history contract)"
        charge_id = op.completion_value["charge_id"]
        amount = op.completion_value["amount"]
        charge = joined.charges_by_id.get(charge_id)
        if charge is None and not joined.reads_complete:
            continue
        if charge is None:
            kind, problem = "acknowledged_charge_missing", "is not on the primary"
        elif charge.amount != amount:
            kind, problem = "acknowledged_charge_amount_mismatch", f"has amount {charge.amount}"
        elif charge.state != "SUCCEEDED":
            kind, problem = "acknowledged_charge_not_succeeded", f"is {charge.state}"
        else:
            continue
        # The op itself is among the key's ops in the evidence; op_index says which one.
        evidence = joined.scope_evidence(op.invoke_value["merchant"], op.key)
        yield Anomaly(
            kind,
            f"op at index {op.invoke_index} was acknowledged ok with charge {charge_id} of "
            f"amount {amount}, but that charge {problem}",
            {"charge_id": charge_id, "op_index": op.invoke_index, **evidence},
        )


def _approved_authorizations(
    joined: _Joined, authorizations: Sequence[NetworkAuthorization]
) -> Iterator[Anomaly]:
    for authorization in authorizations:
        if authorization.outcome != "approved":
            continue
        charge = joined.charges_by_id.get(authorization.reference)
        if charge is None and not joined.reads_complete:
            continue
        money = f"{authorization.amount} {authorization.currency}"
        if charge is None:
            yield Anomaly(
                "approved_authorization_without_charge",
                f"authorization {authorization.id} moved {money} for reference "
                f"{authorization.reference}, which is no charge on the primary",
                {"authorization_id": authorization.id, "reference": authorization.reference},
            )
            continue
        if charge.state != "SUCCEEDED":
            kind, problem = "approved_authorization_charge_not_succeeded", f"is {charge.state}"
        elif (charge.amount, charge.currency) != (authorization.amount, authorization.currency):
            kind = "approved_authorization_amount_mismatch"
            problem = f"records {charge.amount} {charge.currency}"
        else:
            continue
        yield Anomaly(
            kind,
            f"authorization {authorization.id} moved {money}, but charge {charge.id} {problem}",
            {"authorization_id": authorization.id, **joined.charge_evidence(charge)},
        )


def _unresolved_charges(joined: _Joined, charges: Sequence[Charge]) -> Iterator[Anomaly]:
    for charge in charges:
        if charge.state in UNRESOLVED_CHARGE_STATES:
            yield Anomaly(
                "charge_unresolved",
                f"charge {charge.id} is still {charge.state} after recovery quiesced",
                joined.charge_evidence(charge),
            )


def _contradicted_failures(joined: _Joined) -> Iterator[Anomaly]:
    for (merchant, key), ops in joined.ops_by_scope.items():
        if not _failure_acknowledged(ops):
            continue
        charges = joined.charges_by_scope.get((merchant, key), [])
        succeeded = [charge.id for charge in charges if charge.state == "SUCCEEDED"]
        moved = [found.id for charge in charges for found in joined.approved.get(charge.id, [])]
        if not (succeeded or moved):
            continue
        failures = [op.invoke_index for op in ops if op.type == "fail"]
        yield Anomaly(
            "acknowledged_failure_contradicted",
            f"key {key!r} of {merchant} was acknowledged failed (ops at {failures}), but "
            f"has SUCCEEDED charges {succeeded} and approved authorizations {moved}",
            joined.scope_evidence(merchant, key),
        )


def _failure_acknowledged(ops: list[Op]) -> bool:
    """Whether the SUT said this key's charge definitely did not happen.

    Either a fail reported the charge's outcome (a decline), or every attempt was rejected.
    """
    failures = [op for op in ops if op.type == "fail"]
    if any(op.error not in REQUEST_REJECTION_ERRORS for op in failures):
        return True
    return bool(failures) and len(failures) == len(ops)


def _phantom_charges(joined: _Joined, charges: Sequence[Charge]) -> Iterator[Anomaly]:
    for charge in charges:
        if charge.idempotency_key is None:
            problem = "has no idempotency key, but every charge op sends one"
        elif (charge.merchant, charge.idempotency_key) not in joined.ops_by_scope:
            key = charge.idempotency_key
            problem = f"has key {key!r}, which no charge op of {charge.merchant} sent"
        else:
            continue
        yield Anomaly(
            "phantom_charge",
            f"charge {charge.id} {problem}",
            joined.charge_evidence(charge),
        )
