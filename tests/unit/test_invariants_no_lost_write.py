"""no_lost_write: each anomaly kind is found; info ops count as possibly happened."""

from invariants import Verdict, no_double_charge, no_lost_write
from tests.unit.test_invariants_builders import AMOUNT, clean_run, kinds


def test_no_lost_write_clean_run_is_valid():
    result = clean_run().check(no_lost_write.check)

    assert result.verdict is Verdict.VALID


def test_acknowledged_charge_missing_from_primary():
    run = clean_run()
    index = run.op("k9", "ok", charge_id="ch_9")

    result = run.check(no_lost_write.check)

    assert kinds(result) == ["acknowledged_charge_missing"]
    evidence = result.anomalies[0].evidence
    assert evidence["charge_id"] == "ch_9"
    assert evidence["op_index"] == index
    assert evidence["ops"][0]["completion_index"] == index + 1


def test_acknowledged_charge_with_wrong_amount():
    run = clean_run()
    run.op("k9", "ok", charge_id="ch_9")
    run.charge("ch_9", "k9", amount=AMOUNT + 1)
    run.authorization("ch_9", amount=AMOUNT + 1)

    assert kinds(run.check(no_lost_write.check)) == ["acknowledged_charge_amount_mismatch"]


def test_acknowledged_charge_not_succeeded():
    run = clean_run()
    run.op("k9", "ok", charge_id="ch_9")
    run.charge("ch_9", "k9", "FAILED")

    assert kinds(run.check(no_lost_write.check)) == ["acknowledged_charge_not_succeeded"]


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

    assert kinds(result) == ["acknowledged_failure_contradicted"]
    assert result.anomalies[0].evidence["op_indexes"] == [index]


def test_declined_key_with_only_an_approved_authorization_is_contradicted():
    run = clean_run()
    run.op("k9", "info")
    run.op("k9", "fail", error="processing_error")
    run.charge("ch_9", "k9", "FAILED")
    run.authorization("ch_9")

    assert "acknowledged_failure_contradicted" in kinds(run.check(no_lost_write.check))


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

    assert kinds(run.check(no_lost_write.check)) == ["acknowledged_failure_contradicted"]


def test_phantom_charge_of_a_key_never_invoked():
    run = clean_run()
    run.charge("ch_ghost", "k_never")
    run.authorization("ch_ghost")

    result = run.check(no_lost_write.check)

    assert kinds(result) == ["phantom_charge"]
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
