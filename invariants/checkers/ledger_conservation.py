"""ledger_conservation: the double-entry ledger is whole, and its balances are its entries.

Checks, over every account (the platform's included):

- every ledger transaction's entries sum to zero in each currency (money is moved, never made
  or lost);
- every entry names an account that exists;
- each account's stored balance equals the sum of its entries;
- each account's recorded balances after its entries form one chain from zero to its stored
  balance (every entry's balance before it is the balance after another entry, or the
  opening zero), so that the balance each entry recorded can be trusted by
  no_stale_balance_approval.

Anomaly kinds: ``unbalanced_transaction``, ``entry_without_account``,
``balance_differs_from_entries``, ``balance_history_broken``.
"""

from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence

from msgspec.structs import asdict

from invariants.model.final_state import LedgerAccount, LedgerEntry
from invariants.model.run import RunInputs
from invariants.verdict import Anomaly, InvariantResult, Verdict, decide

NAME = "ledger_conservation"
# Entries quoted in one anomaly's evidence; the rest are counted.
EVIDENCE_ENTRIES_MAX = 20


def check(run: RunInputs) -> InvariantResult:
    """Check that every transaction balances and every stored balance is its entries' sum.

    A run whose final state has no ledger accounts has nothing to check: unknown, not valid.
    """
    final_state = run.final_state
    if not final_state.ledger_accounts:
        return InvariantResult(NAME, Verdict.UNKNOWN, error="no ledger accounts were read")
    accounts = {account.id: account for account in final_state.ledger_accounts}
    anomalies = [
        *_unbalanced_transactions(final_state.ledger_entries, accounts),
        *_account_balances(final_state.ledger_entries, accounts),
    ]
    return decide(NAME, anomalies, undecided_reason=final_state.incomplete_reason)


def _unbalanced_transactions(
    entries: Sequence[LedgerEntry], accounts: dict[int, LedgerAccount]
) -> Iterator[Anomaly]:
    by_transaction = _grouped(entries, lambda entry: entry.transaction_id)
    for transaction_id, posted in by_transaction.items():
        sums: Counter[str] = Counter()
        for entry in posted:
            account = accounts.get(entry.account_id)
            if account is None:
                yield Anomaly(
                    "entry_without_account",
                    f"ledger entry {entry.id} of transaction {transaction_id} "
                    f"({entry.transaction_kind} of {entry.object_id}) moves {entry.amount} "
                    f"to account {entry.account_id}, which does not exist: that money is in "
                    "no balance anyone can see.",
                    {"entry": asdict(entry)},
                )
                continue
            sums[account.currency] += entry.amount
        unbalanced = {currency: total for currency, total in sums.items() if total != 0}
        if unbalanced:
            first = posted[0]
            amounts = ", ".join(f"{total:+d} {currency}" for currency, total in unbalanced.items())
            yield Anomaly(
                "unbalanced_transaction",
                f"ledger transaction {transaction_id} ({first.transaction_kind} of "
                f"{first.object_id}) sums to {amounts}, not zero: the ledger made or lost that "
                "much money in one posting.",
                {
                    "transaction_id": transaction_id,
                    "transaction_kind": first.transaction_kind,
                    "object_id": first.object_id,
                    "sums": unbalanced,
                    "entries": [asdict(entry) for entry in posted],
                },
            )


def _account_balances(
    entries: Sequence[LedgerEntry], accounts: dict[int, LedgerAccount]
) -> Iterator[Anomaly]:
    by_account = _grouped(entries, lambda entry: entry.account_id)
    for account in accounts.values():
        posted = by_account.get(account.id, [])
        total = sum(entry.amount for entry in posted)
        if total != account.balance:
            yield Anomaly(
                "balance_differs_from_entries",
                f"{_account_name(account)} holds {account.balance} {account.currency}, but its "
                f"{len(posted)} entries sum to {total}: {account.balance - total:+d} "
                f"{account.currency} is in the balance with no entry behind it.",
                {**_account_evidence(account, posted), "entries_sum": total},
            )
        elif not _balances_chain(posted, account.balance):
            yield Anomaly(
                "balance_history_broken",
                f"the balances recorded after the entries of {_account_name(account)} do not "
                f"form one history from 0 to {account.balance}: some entry was applied to a "
                "balance that no other entry left behind.",
                _account_evidence(account, posted),
            )


def _grouped(
    entries: Sequence[LedgerEntry], key: Callable[[LedgerEntry], int]
) -> dict[int, list[LedgerEntry]]:
    """The entries by ``key``, each group in the entries' order."""
    groups: dict[int, list[LedgerEntry]] = defaultdict(list)
    for entry in entries:
        groups[key(entry)].append(entry)
    return groups


def _account_evidence(account: LedgerAccount, posted: Sequence[LedgerEntry]) -> dict:
    return {
        "account": asdict(account),
        "entry_count": len(posted),
        "entries": [asdict(entry) for entry in posted[:EVIDENCE_ENTRIES_MAX]],
    }


def _balances_chain(entries: Sequence[LedgerEntry], final_balance: int) -> bool:
    """Whether the entries' balances before and after can be one sequence from 0 to
    `final_balance`: applied one at a time under the account's lock, each entry starts from
    the balance the previous one left, so the balances before (with the final balance) are
    the balances after (with the opening zero). Entries without a recorded balance (rows
    written before it was recorded) are not judged."""
    recorded = [entry for entry in entries if entry.balance_after is not None]
    if len(recorded) != len(entries):
        return True
    befores = Counter(entry.balance_after - entry.amount for entry in recorded)
    afters = Counter(entry.balance_after for entry in recorded)
    befores[final_balance] += 1
    afters[0] += 1
    return befores == afters


def _account_name(account: LedgerAccount) -> str:
    owner = f"merchant {account.merchant}" if account.merchant else "the platform"
    return f"the {account.kind} account {account.id} of {owner}"
