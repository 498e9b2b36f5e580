"""no_double_charge: two charges or two approved authorizations for one key are found."""

from invariants import Verdict, no_double_charge
from tests.unit.test_invariants_builders import STEP_NS, clean_run, kinds


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
