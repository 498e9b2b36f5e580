"""Each defect switch really changes what happens to the money (and the healthy system, under
the same test, does not)."""

import asyncio
import contextlib
from pathlib import Path

import pytest
import requests

from invariants import FinalState, RunInputs, Verdict
from invariants.checkers import ledger_conservation, network_reconciliation
from invariants.checkers import no_stale_balance_approval as stale_balance
from scenarios.observe.final_reads import read_final_state
from system_under_test.config import LOCK_TTL_ENV
from system_under_test.defects import (
    ACK_BEFORE_COMMIT,
    BALANCE_FROM_REPLICA,
    NO_IDEMPOTENCY,
    NO_ROW_LOCK,
    SKIP_PROCESSING_STATE,
)
from system_under_test.deploy.local import LocalTopology
from tests.integration.conftest import assert_nothing_left
from tests.integration.sut import Sut, concurrently, until

pytestmark = pytest.mark.integration

RECOVERY_WAIT_S = 30.0
LOCK_TTL_S = 2.0
# A race or a crash window is hit in most rounds; a few rounds make a miss unlikely.
ROUNDS_MAX = 5
CHARGE = {"amount": "1200", "currency": "usd", "source": "tok_visa"}


@pytest.fixture
def start(tmp_path):
    """Start a topology with the given defects; every one started is torn down after."""
    started: list[tuple[LocalTopology, Path]] = []

    def start_topology(*defects: str) -> tuple[LocalTopology, Sut]:
        run_dir = tmp_path / f"topology-{len(started)}"
        topology = LocalTopology(
            run_dir,
            defects=defects,
            merchant_count=2,
            # A crashed request's key is taken over soon, so a retry need not wait long.
            service_environment={LOCK_TTL_ENV: str(LOCK_TTL_S)},
        )
        started.append((topology, run_dir))
        topology.start()
        return topology, Sut(topology.endpoints())

    yield start_topology
    for topology, run_dir in started:
        topology.teardown()
        assert_nothing_left(run_dir)


def _approved(sut: Sut, kind: str, references: list[str]) -> list[dict]:
    return [
        record
        for reference in references
        for record in sut.network_records(kind, reference)
        if record["outcome"] == "approved"
    ]


def test_no_idempotency_charges_a_retried_key_twice(start):
    _, sut = start(NO_IDEMPOTENCY)
    first = sut.post("charge", CHARGE, key="same-key")
    again = sut.post("charge", CHARGE, key="same-key")
    assert first.status == again.status == 200
    assert first.body["id"] != again.body["id"]
    assert "Idempotent-Replayed" not in again.headers
    charges = [
        row["id"] for row in sut.sql("SELECT id FROM charges WHERE idempotency_key = 'same-key'")
    ]
    assert len(_approved(sut, "authorizations", charges)) == 2


def _orphan_approvals(sut: Sut) -> list[dict]:
    """Approved authorizations whose reference is no charge on the primary."""
    records = requests.get(f"{sut.endpoints.network_url}/v1/authorizations", timeout=10).json()
    charges = {row["id"] for row in sut.sql("SELECT id FROM charges")}
    return [
        record
        for record in records["data"]
        if record["outcome"] == "approved" and record["reference"] not in charges
    ]


@pytest.mark.parametrize("defect", [None, SKIP_PROCESSING_STATE])
def test_skip_processing_state_moves_money_no_charge_records(start, defect):
    topology, sut = start(*([defect] if defect else []))
    sut.arm("charge.after_send", "crash")
    with pytest.raises(requests.ConnectionError):
        sut.post("charge", CHARGE, key="crashed")
    until(lambda: not topology.running("api"), timeout_s=10)
    topology.restart("api")
    final = until(
        lambda: (answer := sut.post("charge", CHARGE, key="crashed")).status == 200 and answer,
        timeout_s=RECOVERY_WAIT_S,
    )
    assert final.body["status"] == "succeeded"
    charges = [
        row["id"] for row in sut.sql("SELECT id FROM charges WHERE idempotency_key = 'crashed'")
    ]
    assert charges == [final.body["id"]]
    if defect is None:
        # PROCESSING was committed before the send: recovery found the approval.
        assert _orphan_approvals(sut) == []
        assert len(_approved(sut, "authorizations", charges)) == 1
    else:
        # The crash came before PROCESSING was committed: the first approval belongs to no
        # charge, and the retry moved the money a second time.
        assert len(_orphan_approvals(sut)) == 1
        assert len(_approved(sut, "authorizations", charges)) == 1


def _acknowledged_then_primary_killed(topology: LocalTopology, sut: Sut, round_: int) -> list:
    """Charge a few times, SIGKILL the primary at once, restart it; return the acknowledged
    charges that the restarted primary does not have as SUCCEEDED."""
    acknowledged = [
        sut.charge(1000 + number, key=f"durable-{round_}-{number}")["id"] for number in range(3)
    ]
    topology.kill("pg-primary")
    topology.restart("pg-primary")
    rows = sut.sql("SELECT id, state FROM charges WHERE id = ANY($1::text[])", acknowledged)
    durable = {row["id"] for row in rows if row["state"] == "SUCCEEDED"}
    return [charge for charge in acknowledged if charge not in durable]


@pytest.mark.parametrize("defect", [None, ACK_BEFORE_COMMIT])
def test_ack_before_commit_loses_acknowledged_charges_when_the_primary_crashes(start, defect):
    topology, sut = start(*([defect] if defect else []))
    lost: list[str] = []
    for round_ in range(ROUNDS_MAX):
        # The API reconnects on its next request; the first after a restart may still fail.
        until(lambda: _api_answers(sut), timeout_s=RECOVERY_WAIT_S)
        lost += _acknowledged_then_primary_killed(topology, sut, round_)
        if defect is not None and lost:
            break
    if defect is None:
        assert lost == []
    else:
        assert lost, f"no acknowledged charge was lost in {ROUNDS_MAX} crashes"


def _api_answers(sut: Sut) -> bool:
    """Whether the API reaches the primary again: an unknown charge is read there (404)."""
    with contextlib.suppress(requests.RequestException):
        return sut.get("/v1/charges/ch_none").status == 404
    return False


def test_balance_from_replica_overdraws_on_a_stale_balance(start):
    _, sut = start(BALANCE_FROM_REPLICA)
    sut.charge(5000, key="fund")
    until(lambda: _replica_available(sut) == 5000, timeout_s=RECOVERY_WAIT_S)
    sut.sql("SELECT pg_wal_replay_pause()", on="pg-replica")
    try:
        payouts = [
            sut.post("payout", {"amount": "5000", "currency": "usd"}, key=f"stale-{number}")
            for number in range(2)
        ]
    finally:
        sut.sql("SELECT pg_wal_replay_resume()", on="pg-replica")
    assert [answer.body.get("status") for answer in payouts] == ["paid", "paid"]
    assert sut.available() == -5000
    seen = sut.sql("SELECT balance_seen FROM payouts ORDER BY created_at")
    assert [row["balance_seen"] for row in seen] == [5000, 5000]
    result = _check(sut, stale_balance.check)
    assert {anomaly.kind for anomaly in result.anomalies} == {
        "stale_balance_seen",
        "uncovered_debit",
    }
    # The ledger itself stays whole and reconciled: the defect is in the decision alone.
    assert _check(sut, ledger_conservation.check).verdict is Verdict.VALID
    assert _check(sut, network_reconciliation.check).verdict is Verdict.VALID


def test_the_correct_system_under_concurrent_payouts_is_valid_on_the_ledger_checkers(start):
    _, sut = start()
    sut.charge(10_000, key="fund")
    answers = concurrently(
        [
            lambda key=f"race-{number}": sut.post(
                "payout", {"amount": "3000", "currency": "usd"}, key=key
            )
            for number in range(12)
        ]
    )
    paid = [answer for answer in answers if getattr(answer, "status", None) == 200]
    assert len(paid) == 3
    for checker in (stale_balance.check, ledger_conservation.check, network_reconciliation.check):
        result = _check(sut, checker)
        assert result.verdict is Verdict.VALID, result


def _check(sut: Sut, checker):
    """Run a checker on the final state read from the live topology, as a campaign does."""
    state = asyncio.run(
        read_final_state(
            primary_dsn=sut.endpoints.primary_dsn,
            network_url=sut.endpoints.network_url,
            read_time_ns=0,
        )
    )
    assert isinstance(state, FinalState), state
    return checker(RunInputs([], [], state))


def _replica_available(sut: Sut) -> int | None:
    rows = sut.sql(
        "SELECT balance FROM accounts WHERE merchant_id = $1 AND kind = 'merchant_available'"
        " AND currency = 'usd'",
        sut.endpoints.merchants[0].id,
        on="pg-replica",
    )
    return rows[0]["balance"] if rows else None


def test_no_row_lock_overdraws_under_concurrent_payouts(start):
    _, sut = start(NO_ROW_LOCK)
    for round_ in range(ROUNDS_MAX):
        shortfall = 10_000 - sut.available()
        if shortfall > 0:
            sut.charge(shortfall, key=f"fund-{round_}")
        assert sut.available() == 10_000
        answers = concurrently(
            [
                lambda key=f"race-{round_}-{number}": sut.post(
                    "payout", {"amount": "3000", "currency": "usd"}, key=key
                )
                for number in range(20)
            ]
        )
        paid = [answer for answer in answers if getattr(answer, "status", None) == 200]
        if sut.available() < 0:
            assert len(paid) > 3
            result = _check(sut, stale_balance.check)
            assert result.verdict is Verdict.INVALID
            assert "uncovered_debit" in {anomaly.kind for anomaly in result.anomalies}
            return
        # No overlap this round: the balance must still add up.
        assert sut.available() == 10_000 - 3000 * len(paid)
    pytest.fail(f"no overdraw in {ROUNDS_MAX} rounds of 20 concurrent payouts")
