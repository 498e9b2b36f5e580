"""network_reconciliation: the ledger equals the money the network really moved.

The network's approved records are the ground truth of money moved. Checks:

- per object: a SUCCEEDED charge, refund or payout has exactly one approved record at the
  network, of its amount and currency; an approved record's object is SUCCEEDED with that
  amount and currency;
- per merchant and currency: the merchant's available balance equals its approved charges,
  less its approved refunds and payouts, less what its unresolved refunds and payouts hold
  reserved;
- per currency, the platform's accounts: network_receivable equals approved refunds less
  approved charges; payouts_settled equals approved payouts; refund_clearing and
  payout_clearing equal what unresolved refunds and payouts hold.

Anomaly kinds: ``{kind}_network_mismatch`` (per object), ``merchant_balance_unreconciled``,
``platform_balance_unreconciled``.
"""

from collections import Counter, defaultdict
from collections.abc import Iterator

from msgspec.structs import asdict

from invariants.chart import (
    MERCHANT_AVAILABLE,
    NETWORK_RECEIVABLE,
    PAYOUT_CLEARING,
    PAYOUTS_SETTLED,
    REFUND_CLEARING,
)
from invariants.joins import MovementJoin
from invariants.model.final_state import UNRESOLVED_STATES, FinalState, Movement, NetworkRecord
from invariants.model.run import RunInputs
from invariants.movements import CHARGE, MOVEMENT_KINDS, PAYOUT, REFUND
from invariants.verdict import Anomaly, InvariantResult, Verdict, decide

NAME = "network_reconciliation"
APPROVED = "approved"
# platform account kind -> {movement kind: the sign of its approved amounts there}
PLATFORM_SETTLED = {
    NETWORK_RECEIVABLE: {CHARGE.name: -1, REFUND.name: +1},
    PAYOUTS_SETTLED: {PAYOUT.name: +1},
}
# platform account kind -> the movement kind whose unresolved amounts it holds
PLATFORM_CLEARING = {REFUND_CLEARING: REFUND, PAYOUT_CLEARING: PAYOUT}
MERCHANT_SIGNS = {CHARGE.name: +1, REFUND.name: -1, PAYOUT.name: -1}

Money = Counter  # (owner or None, account kind, currency) -> expected balance


def check(run: RunInputs) -> InvariantResult:
    """Reconcile every object, and every account's balance, with the network's records."""
    final_state = run.final_state
    if not final_state.ledger_accounts:
        return InvariantResult(NAME, Verdict.UNKNOWN, error="no ledger accounts were read")
    anomalies: list[Anomaly] = []
    for kind in MOVEMENT_KINDS:
        anomalies += _objects(MovementJoin.of(run, kind))
    anomalies += _accounts(final_state, _expected_balances(final_state))
    return decide(NAME, anomalies, undecided_reason=final_state.incomplete_reason)


def _objects(join: MovementJoin) -> Iterator[Anomaly]:
    kind = join.kind.name
    for movement in join.movements:
        approved = join.approved.get(movement.id, [])
        matching = [record for record in approved if _same_money(record, movement)]
        if movement.state == "SUCCEEDED":
            if len(approved) == 1 and len(matching) == 1:
                continue
            problem = (
                f"has {len(approved)} approved records at the network "
                f"({len(matching)} of its amount), not exactly one"
            )
        elif approved:
            problem = f"is {movement.state}, yet the network approved {len(approved)} record(s)"
        else:
            continue
        yield Anomaly(
            f"{kind}_network_mismatch",
            f"The {kind} {movement.id} of {movement.amount} {movement.currency} {problem}: the "
            "ledger and the money that really moved disagree for this object.",
            {**join.movement_evidence(movement), "approved": [asdict(r) for r in approved]},
        )


def _same_money(record: NetworkRecord, movement: Movement) -> bool:
    return (record.amount, record.currency) == (movement.amount, movement.currency)


def _owners(final_state: FinalState) -> dict[str, str]:
    """Each object's merchant, by object id."""
    return {
        movement.id: movement.merchant
        for kind in MOVEMENT_KINDS
        for movement in kind.objects(final_state)
    }


def _expected_balances(final_state: FinalState) -> Money:
    """What every account should hold, from the network's approved records and the rows'
    unresolved reservations."""
    owners = _owners(final_state)
    charge_of_authorization = {
        record.id: record.reference for record in final_state.network_authorizations
    }
    expected: Money = Counter()
    for kind in MOVEMENT_KINDS:
        for record in kind.records(final_state):
            if record.outcome != APPROVED:
                continue
            merchant = owners.get(record.reference)
            if merchant is None and kind is REFUND:
                merchant = owners.get(charge_of_authorization.get(record.authorization_id, ""))
            expected[(merchant, MERCHANT_AVAILABLE, record.currency)] += (
                MERCHANT_SIGNS[kind.name] * record.amount
            )
            for account_kind, signs in PLATFORM_SETTLED.items():
                if kind.name in signs:
                    expected[(None, account_kind, record.currency)] += (
                        signs[kind.name] * record.amount
                    )
    for account_kind, kind in PLATFORM_CLEARING.items():
        for movement in kind.objects(final_state):
            if movement.state in UNRESOLVED_STATES:
                held = (movement.merchant, MERCHANT_AVAILABLE, movement.currency)
                expected[held] -= movement.amount
                expected[(None, account_kind, movement.currency)] += movement.amount
    return expected


def _accounts(final_state: FinalState, expected: Money) -> Iterator[Anomaly]:
    stored: dict[tuple, int] = defaultdict(int)
    for account in final_state.ledger_accounts:
        stored[(account.merchant, account.kind, account.currency)] += account.balance
    reconciled_kinds = {MERCHANT_AVAILABLE, *PLATFORM_SETTLED, *PLATFORM_CLEARING}
    for owner_kind_currency in sorted(set(stored) | set(expected), key=repr):
        merchant, account_kind, currency = owner_kind_currency
        if account_kind not in reconciled_kinds:
            continue
        have, want = stored.get(owner_kind_currency, 0), expected.get(owner_kind_currency, 0)
        if have == want:
            continue
        owner = f"merchant {merchant}" if merchant else "the platform"
        if account_kind == MERCHANT_AVAILABLE and merchant is None:
            owner = "no merchant (approved records whose object is not on the primary)"
        yield Anomaly(
            "merchant_balance_unreconciled"
            if account_kind == MERCHANT_AVAILABLE
            else "platform_balance_unreconciled",
            f"The {account_kind} balance of {owner} in {currency} is {have}, but the money "
            f"the network moved says {want}: the ledger is off by {have - want:+d} {currency}.",
            {
                "merchant": merchant,
                "account_kind": account_kind,
                "currency": currency,
                "ledger_balance": have,
                "network_balance": want,
                "difference": have - want,
            },
        )
