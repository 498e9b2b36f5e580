"""The ledger checkers on hand-written runs: no_stale_balance_approval, ledger_conservation and
network_reconciliation, each anomaly class and the cases that must stay unknown."""

import pytest

from invariants import Verdict, chart
from invariants.checkers import ledger_conservation as conservation
from invariants.checkers import network_reconciliation as reconciliation
from invariants.checkers import no_stale_balance_approval as stale
from system_under_test.payments import accounts as sut_chart
from system_under_test.payments import ledger as sut_ledger
from tests.unit.test_invariants_builders import AMOUNT, Run, clean_run, kinds

CHECKERS = (stale.check, conservation.check, reconciliation.check)


def check_document(run: Run, document: dict, checker):
    return checker(run.inputs(document))


def test_the_charts_words_are_the_suts():
    assert chart.MERCHANT_AVAILABLE == sut_chart.MERCHANT_AVAILABLE
    assert chart.NETWORK_RECEIVABLE == sut_chart.NETWORK_RECEIVABLE
    assert chart.REFUND_CLEARING == sut_chart.REFUND_CLEARING
    assert chart.PAYOUT_CLEARING == sut_chart.PAYOUT_CLEARING
    assert chart.PAYOUTS_SETTLED == sut_chart.PAYOUTS_SETTLED
    assert set(chart.RESERVE_POSTINGS.values()) <= set(sut_ledger.POSTINGS)
    touching_merchants = {
        posting
        for posting, accounts in sut_ledger.POSTINGS.items()
        if sut_chart.MERCHANT_AVAILABLE in accounts
    }
    assert set(chart.MERCHANT_POSTINGS) == touching_merchants
    for posting, kind in chart.MERCHANT_POSTINGS.items():
        assert posting.startswith(f"{kind}_")


@pytest.mark.parametrize("checker", CHECKERS)
def test_a_clean_run_is_valid(checker):
    assert clean_run().check(checker).verdict is Verdict.VALID


@pytest.mark.parametrize("checker", CHECKERS)
def test_incomplete_reads_are_unknown(checker):
    run = clean_run()
    run.complete = False
    assert run.check(checker).verdict is Verdict.UNKNOWN


def test_no_debit_has_nothing_to_check():
    run = Run()
    run.paid("k1", "ch_1")
    result = run.check(stale.check)
    assert result.verdict is Verdict.UNKNOWN
    assert "no refund or payout" in result.error


def test_a_decision_on_a_stale_balance_is_caught():
    run = clean_run()
    # The replica still showed the balance before the refund: 2000, where the primary had 1600.
    run.payout("po_2", "p2", balance_seen=2 * AMOUNT)
    run.network_payout("po_2")
    result = run.check(stale.check)
    assert result.verdict is Verdict.INVALID
    assert kinds(result) == ["stale_balance_seen"]
    evidence = result.anomalies[0].evidence
    assert (evidence["balance_seen"], evidence["primary_balance"]) == (2000, 900)
    assert "900" in result.anomalies[0].message


def test_an_overdraw_is_caught_even_when_the_balance_seen_was_the_primarys():
    run = clean_run()
    run.payout("po_2", "p2", amount=5000)
    run.network_payout("po_2", amount=5000)
    result = run.check(stale.check)
    assert kinds(result) == ["uncovered_debit"]
    assert "overdrew the merchant by 4100 usd" in result.anomalies[0].message


def test_two_debits_on_one_unlocked_read_are_both_caught():
    # No row lock: both payouts read 900 before either took its money.
    run = clean_run()
    for number in (2, 3):
        run.payout(f"po_{number}", f"p{number}", amount=600, balance_seen=900)
        run.network_payout(f"po_{number}", amount=600)
    document = run.document()
    result = check_document(run, document, stale.check)
    # The first read the primary's balance; the second read it before the first took 600.
    assert kinds(result) == ["stale_balance_seen", "uncovered_debit"]


def test_a_debit_without_its_reservation_is_caught():
    run = clean_run()
    document = run.document()
    document["ledger_entries"] = [
        entry
        for entry in document["ledger_entries"]
        if entry["transaction_kind"] != "payout_reserved"
    ]
    result = check_document(run, document, stale.check)
    assert kinds(result) == ["debit_without_reservation"]


def test_entries_without_a_recorded_balance_are_unknown():
    run = clean_run()
    document = run.document()
    for entry in document["ledger_entries"]:
        entry["balance_after"] = None
    result = check_document(run, document, stale.check)
    assert result.verdict is Verdict.UNKNOWN
    assert "no recorded balance" in result.error


def _entry(document: dict, kind: str, account_kind: str) -> dict:
    accounts = {account["id"]: account for account in document["ledger_accounts"]}
    return next(
        entry
        for entry in document["ledger_entries"]
        if entry["transaction_kind"] == kind
        and accounts[entry["account_id"]]["kind"] == account_kind
    )


def test_an_unbalanced_transaction_is_caught():
    run = clean_run()
    document = run.document()
    _entry(document, "refund_succeeded", chart.NETWORK_RECEIVABLE)["amount"] += 1
    result = check_document(run, document, conservation.check)
    assert "unbalanced_transaction" in kinds(result)
    assert "+1 usd" in next(
        a.message for a in result.anomalies if a.kind == "unbalanced_transaction"
    )


def test_a_balance_without_entries_behind_it_is_caught():
    run = clean_run()
    document = run.document()
    merchant = next(a for a in document["ledger_accounts"] if a["kind"] == chart.MERCHANT_AVAILABLE)
    merchant["balance"] += 250
    result = check_document(run, document, conservation.check)
    assert kinds(result) == ["balance_differs_from_entries"]
    assert result.anomalies[0].evidence["entries_sum"] == merchant["balance"] - 250


def test_a_broken_balance_history_is_caught():
    run = clean_run()
    document = run.document()
    _entry(document, "payout_reserved", chart.MERCHANT_AVAILABLE)["balance_after"] += 100
    result = check_document(run, document, conservation.check)
    assert kinds(result) == ["balance_history_broken"]


def test_an_entry_on_no_account_is_caught():
    run = clean_run()
    document = run.document()
    document["ledger_entries"][0]["account_id"] = 999
    result = check_document(run, document, conservation.check)
    assert "entry_without_account" in kinds(result)


def test_no_ledger_is_unknown_not_valid():
    run = clean_run()
    document = run.document()
    document["ledger_accounts"], document["ledger_entries"] = [], []
    for checker in (conservation.check, reconciliation.check):
        assert check_document(run, document, checker).verdict is Verdict.UNKNOWN


def test_a_refund_booked_but_never_sent_is_unreconciled():
    run = clean_run()
    # The refund's row and ledger say it succeeded; the network never approved it.
    run.network_refunds.clear()
    result = run.check(reconciliation.check)
    assert kinds(result) == [
        "refund_network_mismatch",
        "merchant_balance_unreconciled",
        "platform_balance_unreconciled",
    ]
    merchant = result.anomalies[1]
    assert merchant.evidence["difference"] == -400
    assert "off by -400 usd" in merchant.message


def test_an_approved_payout_booked_as_failed_is_unreconciled():
    run = clean_run()
    run.payout("po_2", "p2", "FAILED")
    run.network_payout("po_2")
    result = run.check(reconciliation.check)
    assert kinds(result)[0] == "payout_network_mismatch"
    assert "merchant_balance_unreconciled" in kinds(result)


def test_an_approved_amount_other_than_the_objects_is_caught():
    run = clean_run()
    run.authorizations[0]["amount"] = AMOUNT + 1
    result = run.check(reconciliation.check)
    assert "charge_network_mismatch" in kinds(result)


def test_an_unresolved_debit_holds_its_reservation():
    run = clean_run()
    run.payout("po_2", "p2", "PROCESSING")
    assert run.check(reconciliation.check).verdict is Verdict.VALID
