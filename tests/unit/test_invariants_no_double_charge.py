"""no_double_charge: two charges or two approved authorizations for one key are found."""

from invariants import Verdict
from invariants.checkers import no_double_charge
from tests.unit.test_invariants_builders import AMOUNT, REFUND_AMOUNT, STEP_NS, clean_run, kinds


def test_no_double_charge_clean_run_is_valid():
    result = clean_run().check(no_double_charge.check)

    assert result.verdict is Verdict.VALID
    assert result.anomalies == ()


def test_two_approved_authorizations_for_one_key_are_a_double_charge():
    run = clean_run()
    run.fault("network-timeout-1", 0, 100 * STEP_NS)
    first = run.op("k9", "info")
    second = run.op("k9", "ok", charge_id="ch_9")
    run.charge("ch_9", "k9")
    run.authorization("ch_9")
    run.authorization("ch_9")

    result = run.check(no_double_charge.check)

    assert result.verdict is Verdict.INVALID
    assert kinds(result) == ["multiple_approved_authorizations"]
    evidence = result.anomalies[0].evidence
    assert evidence["key"] == "k9"
    assert evidence["charge_ids"] == ["ch_9"]
    assert evidence["authorization_ids"] == ["auth_3", "auth_4"]
    assert evidence["op_indexes"] == [first, second]
    assert evidence["faults_active"] == ["network-timeout-1"]
    assert evidence["ops"][0]["faults_active"] == ["network-timeout-1"]


def test_two_charges_for_one_key_are_a_double_charge():
    run = clean_run()
    run.op("k9", "info")
    run.op("k9", "ok", charge_id="ch_9b")
    run.charge("ch_9a", "k9")
    run.charge("ch_9b", "k9")
    run.authorization("ch_9a")
    run.authorization("ch_9b")

    result = run.check(no_double_charge.check)

    assert result.verdict is Verdict.INVALID
    assert kinds(result) == ["multiple_charges", "multiple_approved_authorizations"]
    assert result.anomalies[0].evidence["charge_ids"] == ["ch_9a", "ch_9b"]


def test_same_key_of_two_merchants_is_not_a_double_charge():
    run = clean_run()
    run.charge("ch_other", "k1", merchant="acct_2")
    run.authorization("ch_other")

    result = run.check(no_double_charge.check)

    assert result.verdict is Verdict.VALID


def test_keyless_charge_approved_twice_is_a_double_charge():
    run = clean_run()
    run.charge("ch_x", None)
    run.authorization("ch_x")
    run.authorization("ch_x")

    result = run.check(no_double_charge.check)

    assert kinds(result) == ["multiple_approved_authorizations"]
    assert result.anomalies[0].evidence["key"] is None


def test_no_double_charge_is_unknown_when_reads_are_incomplete():
    run = clean_run()
    run.complete = False

    result = run.check(no_double_charge.check)

    assert result.verdict is Verdict.UNKNOWN
    assert "incomplete" in result.error


def test_double_charge_found_in_incomplete_reads_is_still_invalid():
    run = clean_run()
    run.errors = ["network simulator: connection refused"]
    run.authorization("ch_1")

    assert run.check(no_double_charge.check).verdict is Verdict.INVALID


# --- refunds and payouts ------------------------------------------------------------------


def test_two_refunds_for_one_refund_key():
    run = clean_run()
    first = run.refund_op("r9", "info", charge_id="ch_2")
    second = run.refund_op("r9", "ok", refund_id="re_9b", charge_id="ch_2")
    run.refund("re_9a", "r9", charge_id="ch_2", amount=100)
    run.refund("re_9b", "r9", charge_id="ch_2", amount=100)

    result = run.check(no_double_charge.check)

    assert kinds(result) == ["multiple_refunds"]
    evidence = result.anomalies[0].evidence
    assert (evidence["movement"], evidence["key"]) == ("refund", "r9")
    assert evidence["refund_ids"] == ["re_9a", "re_9b"]
    assert evidence["op_indexes"] == [first, second]


def test_one_refund_approved_twice_by_the_network():
    run = clean_run()
    run.fault("network-reset-1", 0, 100 * STEP_NS)
    run.refund_op("r9", "info", charge_id="ch_2")
    run.refund_op("r9", "ok", refund_id="re_9", charge_id="ch_2")
    run.refund("re_9", "r9", charge_id="ch_2", amount=100)
    first = run.network_refund("re_9", amount=100, authorization_id="auth_1")
    second = run.network_refund("re_9", amount=100, authorization_id="auth_1")

    result = run.check(no_double_charge.check)

    assert kinds(result) == ["multiple_approved_network_refunds"]
    evidence = result.anomalies[0].evidence
    assert evidence["network_refund_ids"] == [first, second]
    assert evidence["faults_active"] == ["network-reset-1"]


def test_two_payouts_for_one_payout_key():
    run = clean_run()
    run.payout_op("p9", "info")
    run.payout("po_9a", "p9")
    run.payout("po_9b", "p9")
    run.network_payout("po_9a")
    run.network_payout("po_9b")

    result = run.check(no_double_charge.check)

    assert kinds(result) == ["multiple_payouts", "multiple_approved_network_payouts"]


def test_refunds_of_a_charge_approved_beyond_its_amount_are_an_over_refund():
    # clean_run refunds 400 of ch_1; a second key refunds 700 more of its 1000.
    run = clean_run()
    index = run.refund_op("r9", "ok", refund_id="re_9", amount=700)
    run.refund("re_9", "r9", amount=700)
    run.network_refund("re_9", amount=700)

    result = run.check(no_double_charge.check)

    assert kinds(result) == ["over_refund"]
    evidence = result.anomalies[0].evidence
    assert (evidence["charge_id"], evidence["refunded"]) == ("ch_1", REFUND_AMOUNT + 700)
    assert evidence["charge"]["amount"] == AMOUNT
    assert evidence["refund_ids"] == ["re_1", "re_9"]
    assert evidence["network_refund_ids"] == ["nr_0", "nr_1"]
    assert evidence["keys"] == ["r1", "r9"]
    assert index in evidence["op_indexes"]


def test_refunds_of_exactly_the_charge_amount_are_no_over_refund():
    run = clean_run()
    run.refund_op("r9", "ok", refund_id="re_9", remainder=True, amount=AMOUNT - REFUND_AMOUNT)
    run.refund("re_9", "r9", amount=AMOUNT - REFUND_AMOUNT)
    run.network_refund("re_9", amount=AMOUNT - REFUND_AMOUNT)
    run.network_refund("re_9", "declined", amount=AMOUNT - REFUND_AMOUNT)

    assert run.check(no_double_charge.check).verdict is Verdict.VALID


def test_same_key_for_a_charge_and_a_refund_is_not_a_double_charge():
    run = clean_run()
    run.refund_op("k2", "ok", refund_id="re_9", charge_id="ch_2")
    run.refund("re_9", "k2", charge_id="ch_2")
    run.network_refund("re_9", authorization_id="auth_1")

    assert run.check(no_double_charge.check).verdict is Verdict.VALID


def test_double_refund_found_in_incomplete_reads_is_still_invalid():
    run = clean_run()
    run.complete = False
    run.network_refund("re_1")

    result = run.check(no_double_charge.check)

    assert result.verdict is Verdict.INVALID
    assert kinds(result) == ["multiple_approved_network_refunds"]
