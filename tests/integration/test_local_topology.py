"""The local topology: real PostgreSQL primary and replica, every link through the proxy."""

import asyncio
import threading
import time

import asyncpg
import pytest
import requests

from invariants.model.endpoints import load_endpoints, load_merchants
from invariants.model.files import MERCHANTS_FILE
from scenarios.run_files import write_topology_files
from system_under_test.deploy.errors import DeployError
from system_under_test.deploy.local import LocalTopology
from system_under_test.deploy.topology import Endpoints
from tests.integration.conftest import assert_nothing_left
from tests.integration.contract import register_api

pytestmark = pytest.mark.integration

REPLICATION_WAIT_S = 20


@pytest.fixture(scope="module")
def topology(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("topology")
    with LocalTopology(run_dir) as local:
        register_api(local.endpoints().api_url)
        yield local
    assert_nothing_left(run_dir)


def _replica_dsn(endpoints: Endpoints) -> str:
    return endpoints.primary_dsn.replace(
        endpoints.services["pg-primary"], endpoints.services["pg-replica"]
    )


async def _replication_state(endpoints: Endpoints) -> tuple[list, int, bool]:
    primary = await asyncpg.connect(endpoints.primary_dsn)
    try:
        senders = await primary.fetch("SELECT state FROM pg_stat_replication")
        await primary.execute("CREATE TABLE IF NOT EXISTS marker (value text)")
        await primary.execute("INSERT INTO marker VALUES ('streamed')")
    finally:
        await primary.close()
    replica = await asyncpg.connect(_replica_dsn(endpoints))
    try:
        in_recovery = await replica.fetchval("SELECT pg_is_in_recovery()")
        source_port = await replica.fetchval("SELECT sender_port FROM pg_stat_wal_receiver")
        deadline = time.monotonic() + REPLICATION_WAIT_S
        while time.monotonic() < deadline:
            exists = await replica.fetchval("SELECT to_regclass('marker') IS NOT NULL")
            if exists and await replica.fetchval("SELECT count(*) FROM marker") > 0:
                return senders, source_port, in_recovery
            await asyncio.sleep(0.1)
    finally:
        await replica.close()
    raise AssertionError("the replica never saw the primary's write")


def test_endpoints_file_names_services_links_and_merchants(topology, tmp_path):
    endpoints = load_endpoints(write_topology_files(tmp_path, topology.endpoints()))
    assert load_merchants(tmp_path / MERCHANTS_FILE) == endpoints.merchants
    assert set(endpoints.links) == {"api", "pg_primary", "pg_replica", "replication", "network"}
    assert len(endpoints.merchants) == 2
    assert all(merchant.api_key.startswith("sk_test_") for merchant in endpoints.merchants)
    proxies = requests.get(f"http://{endpoints.proxy_api}/proxies", timeout=5).json()
    assert {name: proxy["upstream"] for name, proxy in proxies.items()} == {
        name: link["upstream"] for name, link in endpoints.links.items()
    }


def test_replica_streams_from_the_primary_through_the_replication_link(topology):
    endpoints = topology.endpoints()
    senders, source_port, in_recovery = asyncio.run(_replication_state(endpoints))
    assert in_recovery is True
    assert [sender["state"] for sender in senders] == ["streaming"]
    # The replica streams from the proxy's listen port, not from the primary's own port.
    assert source_port == int(endpoints.links["replication"]["listen"].rpartition(":")[2])


def test_charge_through_the_api_link(topology):
    endpoints = topology.endpoints()
    answer = requests.post(
        f"{endpoints.api_url}/v1/charges",
        data={"amount": "1234", "currency": "usd", "source": "tok_visa"},
        headers={
            "Authorization": f"Bearer {endpoints.merchants[0].api_key}",
            "Idempotency-Key": "topology-test-1",
        },
        timeout=10,
    )
    assert answer.status_code == 200
    assert (answer.json()["status"], answer.json()["amount"]) == ("succeeded", 1234)


def test_kill_and_restart_the_api(topology):
    assert topology.kill("api") == -9
    assert not topology.running("api")
    topology.restart("api")
    assert topology.running("api")
    answer = requests.get(f"http://{topology.endpoints().services['api']}/health", timeout=5)
    assert answer.status_code == 200


def _post_charge(endpoints: Endpoints, key: str | None, **form: str) -> requests.Response:
    headers = {"Authorization": f"Bearer {endpoints.merchants[0].api_key}"}
    if key is not None:
        headers["Idempotency-Key"] = key
    data = {"amount": "500", "currency": "usd", "source": "tok_visa", **form}
    return requests.post(f"{endpoints.api_url}/v1/charges", data=data, headers=headers, timeout=15)


def test_idempotent_replay_mismatch_and_decline(topology):
    endpoints = topology.endpoints()
    first = _post_charge(endpoints, "replay-1")
    again = _post_charge(endpoints, "replay-1")
    assert first.status_code == again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert "Idempotent-Replayed" not in first.headers
    mismatch = _post_charge(endpoints, "replay-1", amount="501")
    assert (mismatch.status_code, mismatch.json()["error"]["type"]) == (400, "idempotency_error")
    declined = _post_charge(endpoints, "declined-1", source="tok_chargeDeclined")
    assert declined.status_code == 402
    assert declined.json()["error"]["decline_code"] == "generic_decline"
    unauthenticated = requests.post(
        f"{endpoints.api_url}/v1/charges",
        data={"amount": "5"},
        headers={"Authorization": "Bearer sk_test_wrong"},
        timeout=5,
    )
    assert unauthenticated.status_code == 401


RECOVERY_WAIT_S = 30


def test_unknown_authorization_is_resolved_by_look_up_never_resent(topology):
    endpoints = topology.endpoints()
    proxy = f"http://{endpoints.proxy_api}/proxies/network/toxics"
    toxic = {
        "name": "drop_answers",
        "type": "timeout",
        "stream": "downstream",
        "attributes": {"timeout": 0},
    }
    assert requests.post(proxy, json=toxic, timeout=5).status_code == 200
    try:
        unknown = _post_charge(endpoints, "unknown-1")
    finally:
        requests.delete(f"{proxy}/drop_answers", timeout=5)
    assert unknown.status_code == 502
    assert unknown.headers.get("Stripe-Should-Retry") == "true"
    deadline = time.monotonic() + RECOVERY_WAIT_S
    retry = _post_charge(endpoints, "unknown-1")
    while retry.status_code == 409 and time.monotonic() < deadline:
        time.sleep(0.5)
        retry = _post_charge(endpoints, "unknown-1")
    assert retry.status_code == 200, retry.text
    assert retry.headers.get("Idempotent-Replayed") == "true"
    charge_id = retry.json()["id"]
    records = requests.get(
        f"{endpoints.network_url}/v1/authorizations", params={"reference": charge_id}, timeout=5
    ).json()["data"]
    assert [record["outcome"] for record in records] == ["approved"]


def test_a_service_failing_to_start_tears_down_what_was_started(tmp_path):
    broken = LocalTopology(tmp_path, service_environment={"PAYCHAOS_SUT_DEFECTS": "no-such-bug"})
    with pytest.raises(DeployError, match=r"api exited during start-up.*unknown defect"):
        broken.start()
    # The proxy, both PostgreSQL servers and the network were up before the API failed.
    assert (tmp_path / "logs" / "network.log").exists()
    assert_nothing_left(tmp_path)
    assert not (tmp_path / "pg").exists()


# A parent-death signal, if it were tied to the restarting thread, fires within milliseconds of
# that thread's end; watching this long shows it does not.
SURVIVAL_WATCH_S = 1.5


def test_a_service_restarted_from_a_short_lived_thread_outlives_the_thread(topology):
    restarter = threading.Thread(target=topology.restart, args=("worker",))
    restarter.start()
    restarter.join(timeout=60)
    assert not restarter.is_alive()
    pid = topology.pid("worker")
    deadline = time.monotonic() + SURVIVAL_WATCH_S
    while time.monotonic() < deadline:
        assert topology.running("worker"), "the worker died with the thread that restarted it"
        time.sleep(0.1)
    assert topology.pid("worker") == pid
