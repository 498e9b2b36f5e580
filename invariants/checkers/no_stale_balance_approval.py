"""no_stale_balance_approval: every debit was decided on the primary's balance, and covered.

A refund or payout takes money from its merchant's available balance. Its decision reads that
balance (the row's ``balance_seen``) and, when it covers the amount, reserves the money: one
ledger entry on the merchant's available account, which records the balance after it
(``balance_after``, written under the account's lock, so in the order the primary applied the
entries). The primary's balance when the debit was applied is therefore ``balance_after``
plus the amount. For every refund and payout row:

- its reservation entry exists;
- ``balance_seen`` equals the primary's balance when the debit was applied (a decision on a
  replica's or an unlocked read's balance shows here as a difference);
- that balance covered the amount (the debit did not overdraw the merchant).

ledger_conservation checks that the recorded balances form one history, so they can be
trusted here. A run with no refund or payout has nothing to check: unknown, not valid.

Anomaly kinds: ``debit_without_reservation``, ``stale_balance_seen``, ``uncovered_debit``.
"""

from collections.abc import Iterator

from msgspec.structs import asdict

from invariants.chart import MERCHANT_AVAILABLE, RESERVE_POSTINGS
from invariants.joins import MovementJoin
from invariants.model.final_state import FinalState, LedgerEntry
from invariants.model.run import RunInputs
from invariants.movements import PAYOUT, REFUND
from invariants.verdict import Anomaly, InvariantResult, Verdict, decide

NAME = "no_stale_balance_approval"


def check(run: RunInputs) -> InvariantResult:
    """Check each refund and payout against the primary's balance when it was applied."""
    final_state = run.final_state
    debits = len(final_state.refunds) + len(final_state.payouts)
    if debits == 0:
        return InvariantResult(
            NAME, Verdict.UNKNOWN, error="no refund or payout in this run: no debit to check"
        )
    reservations = _reservations(final_state)
    anomalies: list[Anomaly] = []
    unrecorded = 0
    for kind in (REFUND, PAYOUT):
        join = MovementJoin.of(run, kind)
        for debit in kind.objects(final_state):
            entry = reservations.get((RESERVE_POSTINGS[kind.name], debit.id))
            if entry is not None and entry.balance_after is None:
                unrecorded += 1
                continue
            anomalies += _judge(join, debit, entry, final_state.reads_complete)
    reason = final_state.incomplete_reason
    if reason is None and unrecorded:
        reason = f"{unrecorded} of {debits} debits have no recorded balance after their reserve"
    return decide(NAME, anomalies, undecided_reason=reason)


def _reservations(final_state: FinalState) -> dict[tuple[str, str], LedgerEntry]:
    """Each reserve transaction's entry on a merchant's available account, by (kind, object)."""
    available = {
        account.id for account in final_state.ledger_accounts if account.kind == MERCHANT_AVAILABLE
    }
    reserve_kinds = set(RESERVE_POSTINGS.values())
    return {
        (entry.transaction_kind, entry.object_id): entry
        for entry in final_state.ledger_entries
        if entry.transaction_kind in reserve_kinds and entry.account_id in available
    }


def _judge(
    join: MovementJoin, debit, entry: LedgerEntry | None, reads_complete: bool
) -> Iterator[Anomaly]:
    kind = join.kind.name
    what = f"{kind} {debit.id} of {debit.amount} {debit.currency} for merchant {debit.merchant}"
    if entry is None:
        if reads_complete:
            yield Anomaly(
                "debit_without_reservation",
                f"The {what} has no reservation on the merchant's available balance: the "
                "money it takes was never taken from what the merchant may spend, so the "
                f"merchant can spend those {debit.amount} twice.",
                join.movement_evidence(debit),
            )
        return
    assert entry.balance_after is not None
    primary = entry.balance_after - entry.amount
    if debit.balance_seen == primary and primary >= debit.amount:
        return
    evidence = {
        **join.movement_evidence(debit),
        "balance_seen": debit.balance_seen,
        "primary_balance": primary,
        "reservation": asdict(entry),
    }
    if debit.balance_seen != primary:
        yield Anomaly(
            "stale_balance_seen",
            f"The {what} was decided on an available balance of {debit.balance_seen}, but the "
            f"primary's balance when the debit was applied was {primary}: the decision read a "
            "balance that was not the primary's (a lagging replica, or a read that another "
            f"debit overtook), so it could approve {debit.amount} the merchant did not have.",
            evidence,
        )
    if primary < debit.amount:
        yield Anomaly(
            "uncovered_debit",
            f"The {what} was approved although the merchant's available balance was only "
            f"{primary}: it overdrew the merchant by {debit.amount - primary} "
            f"{debit.currency}, money the platform now has to recover from the merchant.",
            evidence,
        )
