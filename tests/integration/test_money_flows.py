"""Charges, refunds and payouts on a live topology: fencing, concurrency, crashes at every
recovery point, refusals that write nothing, the reaper, and display reads on the replica."""

import asyncio
import time

import pytest
import requests

from system_under_test.config import LOCK_TTL_ENV, NETWORK_TIMEOUT_ENV, NETWORK_TTL_ENV
from system_under_test.database import close_pool, make_pool
from system_under_test.deploy.local import LocalTopology
from system_under_test.failpoints import STAGES
from system_under_test.worker.reaper import reap_once
from tests.integration.conftest import assert_nothing_left
from tests.integration.sut import Sut, concurrently, until

pytestmark = pytest.mark.integration

# Short, so that takeovers and recovery happen within a test's patience; a lock goes stale
# well before the network's deadline passes, so a superseded request's send still moves money.
LOCK_TTL_S = 1.5
NETWORK_TTL_S = 6.0
# Generous beside a request's few milliseconds: a loaded machine must not turn a healthy
# request into a 502.
NETWORK_TIMEOUT_S = 3.0
# The first request stalls this long; the second is sent at TAKEOVER_AT_S, past the lock
# TTL, with a second and a half of slack on each side.
STALL_MS = 3500
TAKEOVER_AT_S = 2.0
# Recovery looks a movement up after its deadline plus a margin, in passes every 0.5 s.
RECOVERY_WAIT_S = 30.0
REAP_WAIT_S = 20.0
# Merchants: each test that needs a balance of its own uses its own merchant.
MERCHANT_COUNT = 8


@pytest.fixture(scope="module")
def topology(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("flows")
    local = LocalTopology(
        run_dir,
        merchant_count=MERCHANT_COUNT,
        service_environment={
            LOCK_TTL_ENV: str(LOCK_TTL_S),
            NETWORK_TTL_ENV: str(NETWORK_TTL_S),
            NETWORK_TIMEOUT_ENV: str(NETWORK_TIMEOUT_S),
        },
    )
    with local:
        yield local
        # Whatever the tests did, the ledger balances at the end.
        assert Sut(local.endpoints()).ledger_problems() == []
    assert_nothing_left(run_dir)


@pytest.fixture(scope="module")
def sut(topology):
    return Sut(topology.endpoints())


def _charges_of_key(sut: Sut, key: str) -> list[dict]:
    return sut.sql("SELECT id, state FROM charges WHERE idempotency_key = $1", key)


def _authorizations(sut: Sut, charges: list[dict]) -> list[dict]:
    return [
        record
        for charge in charges
        for record in sut.network_records("authorizations", charge["id"])
    ]


def _post_later(sut: Sut, delay_s: float, *args, **kwargs):
    def call():
        time.sleep(delay_s)
        return sut.post(*args, **kwargs)

    return call


@pytest.mark.parametrize("stage", ["after_claim", "after_processing_commit"])
def test_a_superseded_request_changes_nothing(sut, stage):
    """The first request stalls past the lock TTL; the same key sent again takes the key
    over. One charge, one authorization; the superseded request answers 409."""
    key = f"fenced-{stage}"
    form = {"amount": "1500", "currency": "usd", "source": "tok_visa"}
    sut.arm(f"charge.{stage}", "delay", delay_ms=STALL_MS)
    first, second = concurrently(
        [
            lambda: sut.post("charge", form, key=key),
            _post_later(sut, TAKEOVER_AT_S, "charge", form, key=key),
        ]
    )
    assert sut.fired(f"charge.{stage}") >= 1
    assert first.status == 409, first
    assert first.code == "idempotency_key_in_use"
    if stage == "after_claim":
        # The takeover found nothing created yet: it made the charge itself.
        assert (second.status, second.body["status"]) == (200, "succeeded")
    else:
        # The takeover found the charge PROCESSING: it must not send it again.
        assert second.status == 409, second
    # The second request took the key over: the key's lock version moved past the first's.
    versions = sut.sql("SELECT lock_version FROM idempotency_keys WHERE key = $1", key)
    assert [row["lock_version"] for row in versions] == [2]
    charges = _charges_of_key(sut, key)
    assert len(charges) == 1
    # The superseded request's send (after_processing_commit) still reached the network; its
    # answer was dropped with its phase, and recovery found the approval by look-up.
    final = until(lambda: _final_answer(sut, "charge", form, key), timeout_s=RECOVERY_WAIT_S)
    assert (final.status, final.body["id"]) == (200, charges[0]["id"]), final
    authorizations = _authorizations(sut, _charges_of_key(sut, key))
    assert [record["outcome"] for record in authorizations] == ["approved"]


def _final_answer(sut: Sut, kind: str, form: dict, key: str, merchant: int = 0):
    """The answer to a retry of `key`, once it is no longer 409/5xx."""
    answer = sut.post(kind, form, key=key, merchant=merchant)
    return answer if answer.status < 409 or answer.status == 402 else None


def test_concurrent_payouts_never_overdraw(sut):
    merchant = 1
    sut.charge(10_000, key="fund-payouts", merchant=merchant)
    before = sut.available(merchant)
    form = {"amount": "3000", "currency": "usd"}
    answers = concurrently(
        [
            lambda number=number: sut.post(
                "payout", form, key=f"payout-{number}", merchant=merchant
            )
            for number in range(20)
        ]
    )
    paid = [answer for answer in answers if answer.status == 200]
    refused = [answer for answer in answers if answer.status == 400]
    assert len(paid) + len(refused) == 20, answers
    assert {answer.code for answer in refused} <= {"balance_insufficient"}
    assert len(paid) == before // 3000
    assert sut.available(merchant) == before - 3000 * len(paid) >= 0


def test_concurrent_refunds_never_exceed_the_charge(sut):
    merchant = 2
    charge = sut.charge(5000, key="refund-me", merchant=merchant)
    form = {"charge": charge["id"], "amount": "1000"}
    answers = concurrently(
        [
            lambda number=number: sut.post(
                "refund", form, key=f"refund-{number}", merchant=merchant
            )
            for number in range(10)
        ]
    )
    refunded = [answer for answer in answers if answer.status == 200]
    assert len(refunded) == 5, answers
    assert {answer.code for answer in answers if answer.status != 200} <= {
        "amount_too_large",
        "charge_already_refunded",
    }
    records = [
        record
        for answer in refunded
        for record in sut.network_records("refunds", answer.body["id"])
    ]
    assert sum(record["amount"] for record in records if record["outcome"] == "approved") == 5000
    after = sut.get(f"/v1/charges/{charge['id']}", merchant=merchant).body
    assert (after["amount_refunded"], after["refunded"]) == (5000, True)


# Per crash point: the network records the retry finds, and the status it ends in.
CRASH_OUTCOMES = {
    # Nothing was created: after the lock TTL the retry takes the key over and does it all.
    "after_claim": (1, "succeeded"),
    # PROCESSING but never sent: recovery's look-up after the deadline finds nothing.
    "after_processing_commit": (0, "failed"),
    # Sent and approved, the answer lost: recovery's look-up finds the approval.
    "after_send": (1, "succeeded"),
    # Everything committed, the answer lost: the retry replays it.
    "after_resolve_commit": (1, "succeeded"),
}


@pytest.mark.parametrize("kind", ["refund", "payout"])
@pytest.mark.parametrize("stage", STAGES)
def test_killed_at_each_recovery_point_finishes_exactly_once(topology, sut, kind, stage):
    merchant = 3 if kind == "refund" else 4
    charge = sut.charge(2000, key=f"crash-fund-{kind}-{stage}", merchant=merchant)
    form = (
        {"charge": charge["id"], "amount": "700"}
        if kind == "refund"
        else {"amount": "700", "currency": "usd"}
    )
    key = f"crash-{kind}-{stage}"
    before = sut.available(merchant)
    sut.arm(f"{kind}.{stage}", "crash")
    with pytest.raises(requests.ConnectionError):
        sut.post(kind, form, key=key, merchant=merchant)
    until(lambda: not topology.running("api"), timeout_s=10)
    topology.restart("api")
    final = until(lambda: _final_answer(sut, kind, form, key, merchant), timeout_s=RECOVERY_WAIT_S)
    assert final.status == 200, final
    table = f"{kind}s"
    rows = sut.sql(f"SELECT id FROM {table} WHERE idempotency_key = $1", key)
    assert [row["id"] for row in rows] == [final.body["id"]]
    record_count, outcome = CRASH_OUTCOMES[stage]
    records = sut.network_records(table, final.body["id"])
    assert [record["outcome"] for record in records] == ["approved"] * record_count
    status = {"succeeded": {"refund": "succeeded", "payout": "paid"}[kind], "failed": "failed"}
    assert final.body["status"] == status[outcome]
    moved = 700 if outcome == "succeeded" else 0
    assert sut.available(merchant) == before - moved


def _written_for(sut: Sut, key: str) -> dict[str, int]:
    """What a request with `key` left behind: keys, refunds, payouts."""
    return {
        "keys": sut.sql_value("SELECT count(*) FROM idempotency_keys WHERE key = $1", key),
        "refunds": sut.sql_value("SELECT count(*) FROM refunds WHERE idempotency_key = $1", key),
        "payouts": sut.sql_value("SELECT count(*) FROM payouts WHERE idempotency_key = $1", key),
    }


def _ledger_size(sut: Sut) -> int:
    return sut.sql_value("SELECT count(*) FROM ledger_entries")


def test_refusals_name_the_parameter_and_write_nothing(sut):
    merchant, other = 5, 6
    charge = sut.charge(1000, key="bad-input-charge", merchant=merchant)
    sut.charge(300, key="bad-input-other", merchant=other)
    cases = [
        # Another merchant's charge does not exist for this one.
        ("refund", {"charge": charge["id"]}, other, 404, "resource_missing", "charge"),
        ("refund", {"charge": "ch_nope"}, merchant, 404, "resource_missing", "charge"),
        (
            "refund",
            {"charge": charge["id"], "amount": "1001"},
            merchant,
            400,
            "amount_too_large",
            "amount",
        ),
        (
            "refund",
            {"charge": charge["id"], "amount": "0"},
            merchant,
            400,
            "amount_too_small",
            "amount",
        ),
        (
            "payout",
            {"amount": "999999", "currency": "usd"},
            merchant,
            400,
            "balance_insufficient",
            None,
        ),
        # A currency the merchant holds nothing in.
        (
            "payout",
            {"amount": "10", "currency": "eur"},
            merchant,
            400,
            "balance_insufficient",
            None,
        ),
        (
            "payout",
            {"amount": "-10", "currency": "usd"},
            merchant,
            400,
            "parameter_invalid_integer",
            "amount",
        ),
        (
            "payout",
            {"amount": "10", "currency": "usd", "destination": "ba_1"},
            merchant,
            400,
            None,
            "destination",
        ),
        (
            "payout",
            {"amount": "10", "currency": "usd", "colour": "red"},
            merchant,
            400,
            "parameter_unknown",
            "colour",
        ),
    ]
    entries = _ledger_size(sut)
    sent = {kind: sut.network_count(kind) for kind in ("refunds", "payouts")}
    for number, (kind, form, who, status, code, param) in enumerate(cases):
        key = f"bad-input-{number}"
        answer = sut.post(kind, form, key=key, merchant=who)
        assert (answer.status, answer.code) == (status, code), (form, answer)
        assert answer.body["error"].get("param") == param, answer
        assert answer.headers.get("Stripe-Should-Retry") == "false"
        assert _written_for(sut, key) == {"keys": 0, "refunds": 0, "payouts": 0}, form
    assert _ledger_size(sut) == entries
    assert {kind: sut.network_count(kind) for kind in sent} == sent


def test_a_reaped_key_starts_a_new_request(sut):
    first = sut.charge(400, key="reaped-key", merchant=7)
    replay = sut.post(
        "charge",
        {"amount": "400", "currency": "usd", "source": "tok_visa"},
        key="reaped-key",
        merchant=7,
    )
    assert (replay.body["id"], replay.headers.get("Idempotent-Replayed")) == (first["id"], "true")
    sut.sql(
        "UPDATE idempotency_keys SET created_at = now() - interval '25 hours' WHERE key = $1",
        "reaped-key",
    )
    until(
        lambda: (
            sut.sql_value("SELECT count(*) FROM idempotency_keys WHERE key = 'reaped-key'") == 0
        ),
        timeout_s=REAP_WAIT_S,
    )
    again = sut.charge(400, key="reaped-key", merchant=7)
    assert again["id"] != first["id"]


def test_balance_is_a_display_read_on_the_replica_and_debits_read_the_primary(sut):
    merchant = 7
    until(lambda: _replica_caught_up(sut), timeout_s=REAP_WAIT_S)
    shown_before = _shown_available(sut, merchant)
    assert shown_before == sut.available(merchant)
    _replay(sut, "pause")
    try:
        sut.charge(2500, key="while-replica-paused", merchant=merchant)
        assert _shown_available(sut, merchant) == shown_before
        # The payout is decided on the primary, which has the new charge.
        payout = sut.post(
            "payout",
            {"amount": str(shown_before + 2500), "currency": "usd"},
            key="payout-beyond-the-replica",
            merchant=merchant,
        )
        assert (payout.status, payout.body["status"]) == (200, "paid"), payout
        assert payout.body["id"].startswith("po_")
    finally:
        _replay(sut, "resume")
    until(lambda: _shown_available(sut, merchant) == sut.available(merchant), timeout_s=20)


def _shown_available(sut: Sut, merchant: int) -> int:
    answer = sut.get("/v1/balance", merchant=merchant)
    assert answer.status == 200, answer
    (usd,) = [entry for entry in answer.body["available"] if entry["currency"] == "usd"]
    assert {entry["amount"] for entry in answer.body["pending"]} == {0}
    return usd["amount"]


def _replica_sql(sut: Sut, query: str) -> list[dict]:
    return sut.sql(query, on="pg-replica")


def _replay(sut: Sut, action: str) -> None:
    _replica_sql(sut, f"SELECT pg_wal_replay_{action}()")


def _replica_caught_up(sut: Sut) -> bool:
    primary_lsn = sut.sql_value("SELECT pg_current_wal_lsn()::text")
    rows = _replica_sql(sut, f"SELECT pg_last_wal_replay_lsn() >= '{primary_lsn}' AS caught_up")
    return rows[0]["caught_up"]


def test_the_reaper_keeps_keys_whose_movement_may_be_in_flight(sut):
    merchant_id = sut.endpoints.merchants[0].id
    points = {
        "old-started": "started",
        "old-processing": "payout_processing",
        "old-finished": "finished",
    }
    for key, point in points.items():
        sut.sql(
            "INSERT INTO idempotency_keys (merchant_id, key, request_method, request_path,"
            " request_params, recovery_point, created_at)"
            " VALUES ($1, $2, 'POST', '/v1/payouts', '{}', $3, now() - interval '25 hours')",
            merchant_id,
            key,
            point,
        )
    dsn = sut.endpoints.primary_dsn.replace("postgresql://", "postgresql+asyncpg://")
    # The worker's own reaper may get there first; either way the same keys must go.
    asyncio.run(_reap(dsn))
    remaining = sut.sql("SELECT key FROM idempotency_keys WHERE key LIKE 'old-%'")
    assert [row["key"] for row in remaining] == ["old-processing"]


async def _reap(dsn: str) -> int:
    pool = await make_pool(dsn)
    try:
        return await reap_once(pool)
    finally:
        await close_pool(pool)
