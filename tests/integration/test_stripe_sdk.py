"""The official `stripe` SDK, unchanged, through the `api` link of a live topology: objects,
lists and auto-paging, every error class, request ids, and its own retries under a flaky link."""

import threading
import time

import pytest
import requests
import stripe
from stripe import (
    AuthenticationError,
    CardError,
    IdempotencyError,
    InvalidRequestError,
)

from system_under_test.deploy.local import LocalTopology
from tests.integration.conftest import assert_nothing_left
from tests.integration.sut import Sut, until

pytestmark = pytest.mark.integration

# The SDK's own client timeout, short so that a response held by a fault is retried soon.
SDK_TIMEOUT_S = 3.0
REPLICA_WAIT_S = 30.0
CHARGE_COUNT = 23


@pytest.fixture(scope="module")
def topology(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("sdk")
    with LocalTopology(run_dir, merchant_count=2) as local:
        yield local
    assert_nothing_left(run_dir)


@pytest.fixture(scope="module")
def sut(topology):
    return Sut(topology.endpoints())


def _client(sut: Sut, *, merchant: int = 0, retries: int = 0, api_key: str | None = None):
    return stripe.StripeClient(
        api_key or sut.endpoints.merchants[merchant].api_key,
        base_addresses={"api": sut.endpoints.api_url},
        max_network_retries=retries,
        http_client=stripe.RequestsClient(timeout=SDK_TIMEOUT_S),
    )


@pytest.fixture(scope="module")
def client(sut):
    return _client(sut)


def _visible_on_replica(sut: Sut, table: str, object_id: str) -> bool:
    return bool(sut.sql(f"SELECT 1 FROM {table} WHERE id = $1", object_id, on="pg-replica"))


def test_charges_create_retrieve_list_and_auto_page(sut, client):
    created = [
        client.v1.charges.create(
            params={
                "amount": 1000 + number,
                "currency": "usd",
                "source": "tok_visa",
                "description": f"order {number}",
                "metadata": {"order": str(number)},
            }
        )
        for number in range(CHARGE_COUNT)
    ]
    first = created[0]
    assert (first.status, first.paid, first.captured) == ("succeeded", True, True)
    assert first.balance_transaction.startswith("txn_")
    assert first.outcome.type == "authorized"
    assert first.last_response.request_id.startswith("req_")
    again = client.v1.charges.retrieve(first.id)
    assert (again.metadata["order"], again.description) == ("0", "order 0")
    assert again.refunds.data == []
    until(lambda: _visible_on_replica(sut, "charges", created[-1].id), timeout_s=REPLICA_WAIT_S)
    paged = [charge.id for charge in client.v1.charges.list(params={"limit": 5}).auto_paging_iter()]
    newest_first = [charge.id for charge in reversed(created)]
    assert [charge_id for charge_id in paged if charge_id in set(newest_first)] == newest_first
    assert len(paged) == len(set(paged))
    page = client.v1.charges.list(params={"limit": 3, "ending_before": created[5].id})
    assert [charge.id for charge in page.data] == [created[8].id, created[7].id, created[6].id]
    assert page.has_more


def test_refunds_partial_then_the_rest(sut, client):
    charge = client.v1.charges.create(
        params={"amount": 5000, "currency": "usd", "source": "tok_visa"}
    )
    partial = client.v1.refunds.create(
        params={"charge": charge.id, "amount": 1200, "metadata": {"reason": "broken"}}
    )
    rest = client.v1.refunds.create(params={"charge": charge.id})
    assert (partial.status, partial.amount, rest.amount) == ("succeeded", 1200, 3800)
    assert partial.metadata["reason"] == "broken"
    assert client.v1.refunds.retrieve(partial.id).charge == charge.id
    refunded = client.v1.charges.retrieve(charge.id)
    assert (refunded.amount_refunded, refunded.refunded) == (5000, True)
    assert {refund.id for refund in refunded.refunds.data} == {partial.id, rest.id}
    with pytest.raises(InvalidRequestError) as caught:
        client.v1.refunds.create(params={"charge": charge.id})
    assert caught.value.code == "charge_already_refunded"
    until(lambda: _visible_on_replica(sut, "refunds", rest.id), timeout_s=REPLICA_WAIT_S)
    listed = client.v1.refunds.list(params={"charge": charge.id, "limit": 1}).auto_paging_iter()
    assert [refund.id for refund in listed] == [rest.id, partial.id]


def test_payouts_balance_and_balance_transactions(sut, client):
    payouts = [
        client.v1.payouts.create(params={"amount": 100 + number, "currency": "usd"})
        for number in range(3)
    ]
    assert {payout.status for payout in payouts} == {"paid"}
    assert client.v1.payouts.retrieve(payouts[0].id).amount == 100
    until(lambda: _visible_on_replica(sut, "payouts", payouts[-1].id), timeout_s=REPLICA_WAIT_S)
    listed = [
        payout.id for payout in client.v1.payouts.list(params={"limit": 2}).auto_paging_iter()
    ]
    assert listed[:3] == [payout.id for payout in reversed(payouts)]
    balance = client.v1.balance.retrieve()
    usd = next(funds for funds in balance.available if funds.currency == "usd")
    assert usd.amount == sut.available(0)
    transaction = client.v1.balance_transactions.retrieve(payouts[0].balance_transaction)
    assert (transaction.type, transaction.amount, transaction.source) == (
        "payout",
        -100,
        payouts[0].id,
    )
    kinds = {
        item.type
        for item in client.v1.balance_transactions.list(params={"limit": 100}).auto_paging_iter()
    }
    assert {"charge", "refund", "payout"} <= kinds


@pytest.mark.parametrize(
    ("source", "code", "decline_code"),
    [
        ("tok_chargeDeclined", "card_declined", "generic_decline"),
        ("tok_chargeDeclinedInsufficientFunds", "card_declined", "insufficient_funds"),
        ("tok_chargeDeclinedProcessingError", "processing_error", None),
        ("4242424242424241", "incorrect_number", None),
    ],
)
def test_card_errors(client, source, code, decline_code):
    with pytest.raises(CardError) as caught:
        client.v1.charges.create(params={"amount": 700, "currency": "usd", "source": source})
    error = caught.value
    assert (error.code, error.error.decline_code) == (code, decline_code)
    assert error.request_id.startswith("req_")
    assert error.http_status == 402


def test_idempotency_authentication_and_invalid_request_errors(sut, client):
    options = {"idempotency_key": "sdk-reused-key"}
    client.v1.charges.create(
        params={"amount": 900, "currency": "usd", "source": "tok_visa"}, options=options
    )
    with pytest.raises(IdempotencyError):
        client.v1.charges.create(
            params={"amount": 901, "currency": "usd", "source": "tok_visa"}, options=options
        )
    with pytest.raises(AuthenticationError):
        _client(sut, api_key="sk_test_not_a_key").v1.balance.retrieve()
    with pytest.raises(InvalidRequestError) as caught:
        client.v1.charges.create(params={"amount": 900, "currency": "xyz", "source": "tok_visa"})
    assert (caught.value.param, caught.value.code) == ("currency", "parameter_invalid")
    with pytest.raises(InvalidRequestError) as missing:
        client.v1.charges.retrieve("ch_does_not_exist")
    assert (missing.value.http_status, missing.value.code) == (404, "resource_missing")
    assert missing.value.request_id.startswith("req_")


def _heal_later(sut: Sut, toxic: str, delay_s: float) -> threading.Thread:
    def heal():
        time.sleep(delay_s)
        requests.delete(f"http://{sut.endpoints.proxy_api}/proxies/api/toxics/{toxic}", timeout=10)

    thread = threading.Thread(target=heal)
    thread.start()
    return thread


def test_sdk_retries_through_a_flaky_link_never_charge_twice(sut):
    client = _client(sut, merchant=1, retries=6)
    toxic = {
        "name": "hold-answers",
        "type": "timeout",
        "stream": "downstream",
        "attributes": {"timeout": 0},
    }
    response = requests.post(
        f"http://{sut.endpoints.proxy_api}/proxies/api/toxics", json=toxic, timeout=10
    )
    assert response.status_code == 200, response.text
    healer = _heal_later(sut, "hold-answers", SDK_TIMEOUT_S * 1.5)
    try:
        charge = client.v1.charges.create(
            params={"amount": 4321, "currency": "usd", "source": "tok_visa"},
            options={"idempotency_key": "sdk-flaky-link"},
        )
    finally:
        healer.join()
    assert charge.status == "succeeded"
    rows = sut.sql("SELECT id FROM charges WHERE idempotency_key = 'sdk-flaky-link'")
    assert [row["id"] for row in rows] == [charge.id]
    records = sut.network_records("authorizations", charge.id)
    assert [record["outcome"] for record in records] == ["approved"]
    # The first attempt reached the API: the answer the fault held was a stored one replayed.
    assert charge.last_response.headers.get("Idempotent-Replayed") == "true"
