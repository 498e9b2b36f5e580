"""no_lost_write: each anomaly kind is found; info ops count as possibly happened."""

import pytest

from invariants import Verdict
from invariants.checkers import no_double_charge, no_lost_write
from scenarios.mutants import detection_time_s
from tests.unit.test_invariants_builders import (
    AMOUNT,
    MERCHANT,
    PAYOUT_AMOUNT,
    REFUND_AMOUNT,
    clean_run,
    kinds,
)


def test_no_lost_write_clean_run_is_valid():
    result = clean_run().check(no_lost_write.check)

    assert result.verdict is Verdict.VALID


def test_acknowledged_charge_missing_from_primary():
    run = clean_run()
    index = run.op("k9", "ok", charge_id="ch_9")

    result = run.check(no_lost_write.check)

    assert kinds(result) == ["acknowledged_charge_missing", "charge_ledger_below_acknowledged"]
    evidence = result.anomalies[0].evidence
    assert evidence["charge_id"] == "ch_9"
    assert evidence["op_index"] == index
    assert evidence["ops"][0]["completion_index"] == index + 1


def test_acknowledged_charge_with_wrong_amount():
    run = clean_run()
    run.op("k9", "ok", charge_id="ch_9")
    run.charge("ch_9", "k9", amount=AMOUNT + 1)
    run.authorization("ch_9", amount=AMOUNT + 1)

    assert kinds(run.check(no_lost_write.check)) == [
        "acknowledged_charge_amount_mismatch",
        "charge_ledger_above_possible",
    ]


def test_acknowledged_charge_not_succeeded():
    run = clean_run()
    run.op("k9", "ok", charge_id="ch_9")
    run.charge("ch_9", "k9", "FAILED")

    assert kinds(run.check(no_lost_write.check)) == [
        "acknowledged_charge_not_succeeded",
        "charge_ledger_below_acknowledged",
    ]


def test_approved_authorization_of_a_failed_charge():
    run = clean_run()
    run.op("k9", "info")
    run.charge("ch_9", "k9", "FAILED")
    authorization_id = run.authorization("ch_9")

    result = run.check(no_lost_write.check)

    assert kinds(result) == ["approved_authorization_charge_not_succeeded"]
    assert result.anomalies[0].evidence["authorization_id"] == authorization_id


def test_approved_authorization_with_other_amount_than_its_charge():
    run = clean_run()
    run.op("k9", "info")
    run.charge("ch_9", "k9")
    run.authorization("ch_9", amount=AMOUNT * 2)

    assert kinds(run.check(no_lost_write.check)) == ["approved_authorization_amount_mismatch"]


def test_approved_authorization_without_any_charge():
    run = clean_run()
    run.authorization("ch_nowhere")

    result = run.check(no_lost_write.check)

    assert kinds(result) == ["approved_authorization_without_charge"]
    assert result.anomalies[0].evidence["reference"] == "ch_nowhere"


def test_charge_left_processing():
    run = clean_run()
    run.op("k9", "info")
    run.charge("ch_9", "k9", "PROCESSING", resolved_by=None)

    result = run.check(no_lost_write.check)

    assert kinds(result) == ["charge_unresolved"]
    assert result.anomalies[0].evidence["charges"][0]["state"] == "PROCESSING"


def test_declined_key_with_succeeded_charge_contradicts_the_acknowledged_failure():
    run = clean_run()
    index = run.op("k9", "fail", charge_id="ch_9", error="card_declined")
    run.charge("ch_9", "k9", resolved_by="recovery")
    run.authorization("ch_9")

    result = run.check(no_lost_write.check)

    assert kinds(result) == [
        "acknowledged_charge_failure_contradicted",
        "charge_ledger_above_possible",
    ]
    assert result.anomalies[0].evidence["op_indexes"] == [index]


def test_declined_key_with_only_an_approved_authorization_is_contradicted():
    run = clean_run()
    run.op("k9", "info")
    run.op("k9", "fail", error="processing_error")
    run.charge("ch_9", "k9", "FAILED")
    run.authorization("ch_9")

    assert "acknowledged_charge_failure_contradicted" in kinds(run.check(no_lost_write.check))


def test_idempotency_error_after_a_success_is_no_contradiction():
    # The rejected attempt moved no money; the key's first attempt did, and said so.
    run = clean_run()
    run.op("k1", "fail", error="idempotency_error")

    assert run.check(no_lost_write.check).verdict is Verdict.VALID


def test_key_whose_every_attempt_was_rejected_must_have_no_charge():
    run = clean_run()
    run.op("k9", "fail", error="invalid_request_error")
    run.charge("ch_9", "k9")
    run.authorization("ch_9")

    assert kinds(run.check(no_lost_write.check)) == [
        "acknowledged_charge_failure_contradicted",
        "charge_ledger_above_possible",
    ]


def test_phantom_charge_of_a_key_never_invoked():
    run = clean_run()
    run.charge("ch_ghost", "k_never")
    run.authorization("ch_ghost")

    result = run.check(no_lost_write.check)

    assert kinds(result) == ["phantom_charge", "charge_ledger_above_possible"]
    assert result.anomalies[0].evidence["charge_id"] == "ch_ghost"


def test_charge_without_idempotency_key_is_a_phantom():
    run = clean_run()
    run.charge("ch_keyless", None, "FAILED")

    assert kinds(run.check(no_lost_write.check)) == ["phantom_charge"]


def test_key_with_only_info_ops_and_no_charge_is_valid():
    run = clean_run()
    run.op("k9", "info")
    run.op("k9", "info", error="idempotency_key_in_use")
    run.op("k10", "open")

    assert run.check(no_lost_write.check).verdict is Verdict.VALID
    assert run.check(no_double_charge.check).verdict is Verdict.VALID


def test_key_with_only_info_ops_and_one_succeeded_charge_is_valid():
    run = clean_run()
    run.op("k9", "info")
    run.op("k9", "open")
    run.charge("ch_9", "k9", resolved_by="recovery")
    run.authorization("ch_9")

    assert run.check(no_lost_write.check).verdict is Verdict.VALID
    assert run.check(no_double_charge.check).verdict is Verdict.VALID


def test_missing_rows_do_not_count_when_reads_are_incomplete():
    run = clean_run()
    run.op("k9", "ok", charge_id="ch_9")
    run.authorization("ch_elsewhere")
    run.complete = False

    result = run.check(no_lost_write.check)

    assert result.verdict is Verdict.UNKNOWN
    assert result.anomalies == ()


# --- refunds and payouts ------------------------------------------------------------------


def test_acknowledged_payout_that_failed_on_the_primary():
    run = clean_run()
    index = run.payout_op("p9", "ok", payout_id="po_9")
    run.payout("po_9", "p9", "FAILED")

    result = run.check(no_lost_write.check)

    assert kinds(result) == [
        "acknowledged_payout_not_succeeded",
        "payout_ledger_below_acknowledged",
    ]
    evidence = result.anomalies[0].evidence
    assert (evidence["movement"], evidence["payout_id"], evidence["op_index"]) == (
        "payout",
        "po_9",
        index,
    )
    assert evidence["payouts"][0]["state"] == "FAILED"


def test_acknowledged_refund_missing_from_primary():
    run = clean_run()
    run.refund_op("r9", "ok", refund_id="re_9")

    assert kinds(run.check(no_lost_write.check)) == [
        "acknowledged_refund_missing",
        "refund_ledger_below_acknowledged",
    ]


def test_acknowledged_refund_that_belongs_to_another_key():
    # The API answered r9 with the refund made for r1: r9's own refund is lost.
    run = clean_run()
    run.refund_op("r9", "ok", refund_id="re_1")

    result = run.check(no_lost_write.check)

    assert kinds(result) == [
        "acknowledged_refund_misattributed",
        "refund_ledger_below_acknowledged",
    ]
    evidence = result.anomalies[0].evidence
    assert evidence["mismatches"] == {"idempotency_key": {"requested": "r9", "found": "r1"}}
    assert evidence["found"]["id"] == "re_1"
    assert (evidence["key"], evidence["refund_ids"]) == ("r9", [])


def test_acknowledged_charge_that_belongs_to_another_key():
    # Matching the id alone would pass this: k9 was answered with k1's charge.
    run = clean_run()
    index = run.op("k9", "ok", charge_id="ch_1")

    result = run.check(no_lost_write.check)

    assert kinds(result) == [
        "acknowledged_charge_misattributed",
        "charge_ledger_below_acknowledged",
    ]
    assert result.anomalies[0].evidence["op_index"] == index


def test_acknowledged_refund_of_another_charge_or_merchant():
    run = clean_run()
    run.refund_op("r9", "ok", refund_id="re_9", charge_id="ch_2")
    run.refund("re_9", "r9", charge_id="ch_1", merchant="acct_2")
    run.network_refund("re_9")

    result = run.check(no_lost_write.check)

    assert "acknowledged_refund_misattributed" in kinds(result)
    mismatches = result.anomalies[0].evidence["mismatches"]
    assert mismatches == {
        "merchant": {"requested": MERCHANT, "found": "acct_2"},
        "charge_id": {"requested": "ch_2", "found": "ch_1"},
    }


def test_acknowledged_refund_of_the_remainder_matches_the_acknowledged_amount():
    run = clean_run()
    run.refund_op("r9", "ok", refund_id="re_9", charge_id="ch_2", remainder=True)
    run.refund("re_9", "r9", charge_id="ch_2")
    run.network_refund("re_9", authorization_id="auth_1")

    assert run.check(no_lost_write.check).verdict is Verdict.VALID


def test_approved_network_payout_without_any_payout():
    run = clean_run()
    record_id = run.network_payout("po_nowhere")

    result = run.check(no_lost_write.check)

    assert kinds(result) == ["approved_network_payout_without_payout"]
    evidence = result.anomalies[0].evidence
    assert (evidence["network_payout_id"], evidence["reference"]) == (record_id, "po_nowhere")
    assert evidence["network_payout"]["amount"] == PAYOUT_AMOUNT


def test_approved_network_refund_of_other_amount_than_its_refund():
    run = clean_run()
    run.refund_op("r9", "info")
    run.refund("re_9", "r9", charge_id="ch_2", resolved_by="recovery")
    run.network_refund("re_9", amount=REFUND_AMOUNT + 1, authorization_id="auth_1")

    assert kinds(run.check(no_lost_write.check)) == ["approved_network_refund_amount_mismatch"]


def test_refund_left_processing():
    run = clean_run()
    run.refund_op("r9", "info")
    run.refund("re_9", "r9", "PROCESSING", resolved_by=None)

    assert kinds(run.check(no_lost_write.check)) == ["refund_unresolved"]


def test_phantom_refund_of_a_key_no_refund_op_sent():
    run = clean_run()
    run.refund("re_ghost", "r_never")
    run.network_refund("re_ghost")

    result = run.check(no_lost_write.check)

    assert kinds(result) == ["phantom_refund", "refund_ledger_above_possible"]
    assert result.anomalies[0].evidence["refund_id"] == "re_ghost"


@pytest.mark.parametrize("key", ["k1", "p1"])
def test_refund_whose_key_only_other_ops_sent_is_a_phantom(key):
    # k1 was sent by a charge op and a read-back, p1 by a payout op: neither asked for a refund.
    run = clean_run()
    run.refund("re_9", key, "FAILED")

    assert kinds(run.check(no_lost_write.check)) == ["phantom_refund"]


def test_acknowledged_payout_failure_contradicted_by_an_approved_record():
    # The bank answered "expired", the payout failed, and yet the bank's records say it paid.
    run = clean_run()
    index = run.payout_op("p9", "fail", payout_id="po_9", error="expired_or_unknown")
    run.payout("po_9", "p9", "FAILED")
    record_id = run.network_payout("po_9")

    result = run.check(no_lost_write.check)

    assert kinds(result) == [
        "approved_network_payout_payout_not_succeeded",
        "acknowledged_payout_failure_contradicted",
    ]
    evidence = result.anomalies[1].evidence
    assert (evidence["op_indexes"], evidence["network_payout_ids"]) == ([index], [record_id])


@pytest.mark.parametrize(
    ("f", "error"),
    [
        ("payout", "balance_insufficient"),
        ("refund", "charge_already_refunded"),
        ("charge", "parameter_missing"),
    ],
)
def test_rejected_attempt_then_ok_of_the_same_key_is_no_contradiction(f, error):
    run = clean_run()
    if f == "payout":
        run.payout_op("p9", "fail", error=error)
        run.paid_out("p9", "po_9")
    elif f == "refund":
        run.refund_op("r9", "fail", charge_id="ch_2", error=error)
        run.refunded("r9", "re_9", charge_id="ch_2")
        run.network_refunds[-1]["authorization_id"] = "auth_1"
    else:
        run.op("k9", "fail", error=error)
        run.paid("k9", "ch_9")

    assert run.check(no_lost_write.check).verdict is Verdict.VALID


def test_payout_key_whose_only_attempt_was_rejected_must_have_no_payout():
    run = clean_run()
    run.payout_op("p9", "fail", error="balance_insufficient")
    run.payout("po_9", "p9")
    run.network_payout("po_9")

    assert kinds(run.check(no_lost_write.check)) == [
        "acknowledged_payout_failure_contradicted",
        "payout_ledger_above_possible",
    ]


def test_missing_refunds_and_payouts_do_not_count_when_reads_are_incomplete():
    run = clean_run()
    run.refund_op("r9", "ok", refund_id="re_9")
    run.network_payout("po_elsewhere")
    run.errors = ["primary: connection reset"]

    result = run.check(no_lost_write.check)

    assert result.verdict is Verdict.UNKNOWN
    assert result.anomalies == ()
    assert "primary: connection reset" in result.error


def test_succeeded_charge_without_an_approved_authorization():
    # Money booked that never moved: e.g. an expired authorization resolved as approved.
    run = clean_run()
    run.op("k9", "info")
    run.charge("ch_9", "k9")
    run.authorization("ch_9", outcome="expired")

    result = run.check(no_lost_write.check)

    assert kinds(result) == ["charge_succeeded_without_approval"]
    assert result.anomalies[0].evidence["charge_id"] == "ch_9"


def test_paid_payout_without_any_network_record():
    run = clean_run()
    run.payout_op("p9", "info")
    run.payout("po_9", "p9")

    assert kinds(run.check(no_lost_write.check)) == ["payout_succeeded_without_approval"]


def test_succeeded_rows_without_records_do_not_count_when_reads_are_incomplete():
    run = clean_run()
    run.payout_op("p9", "info")
    run.payout("po_9", "p9")
    run.complete = False

    result = run.check(no_lost_write.check)

    assert result.verdict is Verdict.UNKNOWN
    assert result.anomalies == ()


# --- read-backs ---------------------------------------------------------------------------


def test_read_back_that_sees_the_acknowledged_objects_is_valid():
    run = clean_run()
    run.read_op("k2", "charge", "ch_2")
    run.read_op("p1", "payout", "po_1", amount=PAYOUT_AMOUNT)

    assert run.check(no_lost_write.check).verdict is Verdict.VALID


def test_read_back_after_an_ok_that_finds_nothing():
    run = clean_run()
    index = run.read_op("k2", "charge", "ch_2", outcome="missing")

    result = run.check(no_lost_write.check)

    assert kinds(result) == ["read_back_charge_missing"]
    evidence = result.anomalies[0].evidence
    assert (evidence["charge_id"], evidence["key"]) == ("ch_2", "k2")
    assert evidence["op_indexes"][1] == index
    assert [op["f"] for op in evidence["ops"]] == ["charge", "read"]
    assert evidence["charges"][0]["id"] == "ch_2"


def test_read_back_that_finds_another_amount():
    run = clean_run()
    run.read_op("r1", "refund", "re_1", amount=REFUND_AMOUNT + 1)

    result = run.check(no_lost_write.check)

    assert kinds(result) == ["read_back_refund_differs"]
    assert result.anomalies[0].evidence["mismatches"] == {
        "amount": {"acknowledged": REFUND_AMOUNT, "read": REFUND_AMOUNT + 1}
    }


def test_read_invoked_before_the_ok_arrived_may_miss_it():
    run = clean_run()
    write = run.op("k9", "open")
    read = run.read_op("k9", "charge", "ch_9", outcome="open")
    ok = {"charge_id": "ch_9", "status": "succeeded", "amount": AMOUNT, "replayed": False}
    run.complete_op(write, ok)
    run.complete_op(read, {"http_status": 404}, "fail", "resource_missing")
    run.charge("ch_9", "k9")
    run.authorization("ch_9")

    assert run.check(no_lost_write.check).verdict is Verdict.VALID


@pytest.mark.parametrize("outcome", ["info", "fail"])
def test_read_back_that_says_nothing_of_the_object_is_not_judged(outcome):
    # A timeout, or a refusal that is no 404 (here a 503 recorded as a fail), says nothing.
    run = clean_run()
    run.read_op("k2", "charge", "ch_2", outcome=outcome)

    assert run.check(no_lost_write.check).verdict is Verdict.VALID


# --- approved records without their object quote the ops they belong to ------------------


def test_orphan_approval_quotes_the_attempt_that_never_heard_back():
    # skip-processing-state: the first attempt sent the charge and crashed before its commit;
    # its retry made a new charge. The orphan's reference is an id nobody was told.
    run = clean_run()
    crashed = run.op("k9", "info", error="connection_error: ServerDisconnectedError")
    run.op("k9", "ok", charge_id="ch_9")
    run.charge("ch_9", "k9")
    run.authorization("ch_9")
    run.authorization("ch_rolled_back")

    result = run.check(no_lost_write.check)

    assert kinds(result) == ["approved_authorization_without_charge"]
    evidence = result.anomalies[0].evidence
    assert (evidence["op_indexes"], evidence["keys"]) == ([crashed], ["k9"])
    assert "outcome is unknown" in evidence["ops_matched_by"]
    assert detection_time_s({"anomalies": [{"evidence": evidence}]}) is not None


def test_orphan_approval_quotes_the_op_whose_answer_named_it():
    run = clean_run()
    declined = run.op("k9", "fail", charge_id="ch_9", error="card_declined")
    run.authorization("ch_9")

    result = run.check(no_lost_write.check)

    assert kinds(result) == ["approved_authorization_without_charge"]
    evidence = result.anomalies[0].evidence
    assert evidence["op_indexes"] == [declined]
    assert evidence["ops_matched_by"] == "the object id their answers name"


def test_orphan_network_refund_quotes_refunds_of_its_charge():
    run = clean_run()
    run.refund_op("r8", "info", charge_id="ch_1")
    other = run.refund_op("r9", "info", charge_id="ch_2", remainder=True)
    run.network_refund("re_rolled_back", amount=AMOUNT, authorization_id="auth_1")

    result = run.check(no_lost_write.check)

    assert kinds(result) == ["approved_network_refund_without_refund"]
    assert result.anomalies[0].evidence["op_indexes"] == [other]


# --- the Jepsen bound: ok <= ledger <= ok + info ------------------------------------------


def posted_twice(document: dict, object_id: str) -> None:
    """Post the ledger transaction of ``object_id`` a second time (balanced, balances kept)."""
    entries = [entry for entry in document["ledger_entries"] if entry["object_id"] == object_id]
    transaction_id = 1 + max(entry["transaction_id"] for entry in document["ledger_entries"])
    accounts = {account["id"]: account for account in document["ledger_accounts"]}
    for entry in entries:
        account = accounts[entry["account_id"]]
        account["balance"] += entry["amount"]
        document["ledger_entries"].append(
            entry
            | {
                "id": len(document["ledger_entries"]) + 1,
                "transaction_id": transaction_id,
                "balance_after": account["balance"],
            }
        )


def unposted(document: dict, object_id: str) -> None:
    """Remove the ledger entries of ``object_id`` (balances kept as the entries left them)."""
    document["ledger_entries"] = [
        entry for entry in document["ledger_entries"] if entry["object_id"] != object_id
    ]


def test_ledger_between_ok_and_ok_plus_info_is_valid():
    run = clean_run()
    run.op("k9", "info")
    run.charge("ch_9", "k9", resolved_by="recovery")
    run.authorization("ch_9")
    run.op("k10", "info")
    run.refund_op("r9", "info", charge_id="ch_2", remainder=True)
    run.refund("re_9", "r9", charge_id="ch_2", amount=AMOUNT)
    run.network_refund("re_9", amount=AMOUNT, authorization_id="auth_1")

    assert run.check(no_lost_write.check).verdict is Verdict.VALID


def test_ledger_above_ok_plus_info_is_money_nobody_asked_for():
    run = clean_run()
    info = run.op("k9", "info")
    run.charge("ch_9", "k9", resolved_by="recovery")
    run.authorization("ch_9")
    document = run.document()
    posted_twice(document, "ch_9")

    result = no_lost_write.check(run.inputs(document))

    assert kinds(result) == ["charge_ledger_above_possible"]
    evidence = result.anomalies[0].evidence
    assert evidence["bound"] == {"acknowledged": 2 * AMOUNT, "possible": 3 * AMOUNT}
    assert (evidence["ledger"], evidence["merchant"], evidence["currency"]) == (
        4 * AMOUNT,
        MERCHANT,
        "usd",
    )
    assert evidence["uncertain_keys"] == ["k9"]
    (culprit,) = evidence["culprits"]
    assert (culprit["key"], culprit["outcome"], culprit["ledger"]) == ("k9", "uncertain", 2000)
    assert evidence["op_indexes"] == [info]


def test_ledger_below_ok_is_an_acknowledged_write_lost_from_the_books():
    run = clean_run()
    document = run.document()
    unposted(document, "ch_2")

    result = no_lost_write.check(run.inputs(document))

    assert kinds(result) == ["charge_ledger_below_acknowledged"]
    evidence = result.anomalies[0].evidence
    assert (evidence["bound"]["acknowledged"], evidence["ledger"]) == (2 * AMOUNT, AMOUNT)
    assert [culprit["key"] for culprit in evidence["culprits"]] == ["k2"]


@pytest.mark.parametrize(("debit", "kind"), [("re_1", "refund"), ("po_1", "payout")])
def test_debit_missing_from_the_ledger_is_below_its_bound(debit, kind):
    run = clean_run()
    document = run.document()
    unposted(document, debit)

    assert kinds(no_lost_write.check(run.inputs(document))) == [f"{kind}_ledger_below_acknowledged"]


def test_one_payment_under_two_keys_may_move_twice():
    # A careless client's retry under a new key: its duplicate, within the bound.
    run = clean_run()
    run.op("k9", "info")
    run.events[-2]["value"]["payment"] = "k9"
    run.op("k9-a2", "ok", charge_id="ch_92")
    run.events[-2]["value"]["payment"] = "k9"
    for charge_id, key in (("ch_91", "k9"), ("ch_92", "k9-a2")):
        run.charge(charge_id, key)
        run.authorization(charge_id)

    assert run.check(no_lost_write.check).verdict is Verdict.VALID


def test_without_ledger_accounts_the_bound_is_unchecked():
    run = clean_run()
    document = run.document()
    document["ledger_accounts"] = []
    document["ledger_entries"] = []

    result = no_lost_write.check(run.inputs(document))

    assert result.verdict is Verdict.UNKNOWN
    assert "no ledger accounts were read" in result.error
