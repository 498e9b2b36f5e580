"""Joins between the history and the final state: by idempotency scope and by reference."""

from collections.abc import Iterable

from invariants.final_state import Charge, NetworkAuthorization
from invariants.history import Op

# Idempotency keys are scoped per merchant account (as in Stripe): (merchant, key). The same
# key string sent by two merchants names two requests, and must not look like a double charge.
Scope = tuple[str, str]


def charge_ops_by_scope(ops: Iterable[Op]) -> dict[Scope, list[Op]]:
    """Charge ops grouped by (merchant, key), each group in invoke order."""
    groups: dict[Scope, list[Op]] = {}
    for op in ops:
        if op.f == "charge":
            assert op.invoke_value is not None, "charge invokes carry a value (history contract)"
            groups.setdefault((op.invoke_value["merchant"], op.key), []).append(op)
    return groups


def charges_by_scope(charges: Iterable[Charge]) -> dict[Scope, list[Charge]]:
    """Charges grouped by (merchant, idempotency key); charges without a key are left out."""
    groups: dict[Scope, list[Charge]] = {}
    for charge in charges:
        if charge.idempotency_key is not None:
            groups.setdefault((charge.merchant, charge.idempotency_key), []).append(charge)
    return groups


def approved_by_reference(
    authorizations: Iterable[NetworkAuthorization],
) -> dict[str, list[NetworkAuthorization]]:
    """Approved authorizations (money moved) grouped by the charge id they reference."""
    groups: dict[str, list[NetworkAuthorization]] = {}
    for authorization in authorizations:
        if authorization.outcome == "approved":
            groups.setdefault(authorization.reference, []).append(authorization)
    return groups
