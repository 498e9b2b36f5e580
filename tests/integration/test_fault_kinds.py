"""Fault kinds against a live topology: each toxic's configured effect is measured through its
own link, and an effect that was not there is not confirmed."""

import asyncio
import contextlib
import threading

import pytest
import requests

from faults.kinds import KINDS, Injection
from faults.kinds.databases import fetch_value
from faults.toxiproxy_api import ToxiproxyApi
from scenarios.campaign import fault_context
from scenarios.observe.final_reads import unresolved_or_none
from system_under_test.deploy.local import LocalTopology
from system_under_test.deploy.ports import free_port
from tests.integration.conftest import assert_nothing_left
from tests.integration.sut import Sut, until

pytestmark = pytest.mark.integration

# Background writes while a replica lags: bounded, a few seconds' worth.
WRITES_MAX = 400


@pytest.fixture(scope="module")
def topology(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("kinds")
    with LocalTopology(run_dir, merchant_count=1, seed=5) as local:
        yield local
    assert_nothing_left(run_dir)


async def _inject(topology, name: str, kind: str, params: dict):
    endpoints = topology.endpoints()
    async with ToxiproxyApi(endpoints.proxy_api) as toxiproxy:
        context = fault_context(toxiproxy, topology, now_s=asyncio.get_running_loop().time)
        fault_kind = KINDS[kind]
        prepared = await fault_kind.prepare(context, params)
        active = await fault_kind.start(context, Injection(name, params, prepared))
        try:
            return await active.confirm()
        finally:
            healed = await active.stop()
            assert healed.confirmed, healed


TOXICS = [
    ("latency", "network", "downstream", {"latency": 300, "jitter": 50}),
    ("latency", "pg_primary", "upstream", {"latency": 200}),
    ("timeout", "network", "downstream", {"timeout": 0}),
    ("timeout", "pg_replica", "upstream", {"timeout": 500}),
    ("reset_peer", "network", "upstream", {"timeout": 0}),
    ("limit_data", "network", "downstream", {"bytes": 40}),
    ("limit_data", "api", "upstream", {"bytes": 10}),
    ("slicer", "network", "downstream", {"average_size": 16, "size_variation": 4, "delay": 1000}),
    ("slow_close", "network", "downstream", {"delay": 400}),
    ("bandwidth", "api", "downstream", {"rate": 0}),
]


@pytest.mark.parametrize(("toxic_type", "link", "stream", "attributes"), TOXICS)
def test_each_toxic_is_confirmed_by_its_measured_effect(
    topology, toxic_type, link, stream, attributes
):
    params = {"link": link, "type": toxic_type, "stream": stream, "attributes": attributes}
    measured = asyncio.run(_inject(topology, f"{toxic_type}-{link}", "toxic", params))
    assert measured.confirmed, measured.evidence
    assert any(probe["showed_effect"] for probe in measured.evidence["probes"])


def test_an_effect_a_probe_cannot_show_is_confirmed_by_the_proxys_count(topology):
    # Slicing a one-byte PostgreSQL answer shows nothing; the replica's streaming traffic on
    # the replication link shows the toxic at work.
    params = {"link": "replication", "type": "slicer", "attributes": {"average_size": 64}}
    measured = asyncio.run(_inject(topology, "slice-replication", "toxic", params))
    assert [probe["showed_effect"] for probe in measured.evidence["probes"]] == [None]
    assert measured.evidence["proxy_stats"]["bytes_affected"] > 0
    assert measured.confirmed


def test_a_toxic_whose_effect_is_absent_is_not_confirmed(topology):
    # Toxicity rolled per connection: at 1e-9 the probes' connections are all spared.
    params = {
        "link": "network",
        "type": "latency",
        "toxicity": 1e-9,
        "attributes": {"latency": 500},
    }
    measured = asyncio.run(_inject(topology, "spared", "toxic", params))
    assert not measured.confirmed
    assert len(measured.evidence["probes"]) > 1


def test_a_kill_is_confirmed_by_the_process_being_gone(topology):
    measured = asyncio.run(_inject(topology, "kill-worker", "kill", {"service": "worker"}))
    assert measured.confirmed, measured.evidence
    assert (measured.evidence["exit_status"], measured.evidence["process_gone"]) == (-9, True)
    assert topology.running("worker")


def test_an_unreachable_primary_is_a_retry_not_a_crash():
    dsn = f"postgresql://postgres@127.0.0.1:{free_port()}/paychaos"
    assert asyncio.run(unresolved_or_none(dsn)) is None


def test_a_pause_is_confirmed_by_the_stopped_process_and_healed_by_resuming(topology):
    measured = asyncio.run(_inject(topology, "pause-network", "pause", {"service": "network"}))
    assert measured.confirmed, measured.evidence
    assert not topology.stopped("network")


def test_a_restart_is_confirmed_by_a_new_process(topology):
    before = topology.pid("worker")
    measured = asyncio.run(_inject(topology, "restart-worker", "restart", {"service": "worker"}))
    assert measured.confirmed, measured.evidence
    assert topology.pid("worker") not in (None, before)


@pytest.mark.parametrize("direction", ["both", "upstream", "downstream"])
def test_a_partition_is_confirmed_by_probes_and_healed(topology, direction):
    params = {"link": "network", "direction": direction}
    measured = asyncio.run(_inject(topology, f"cut-{direction}", "partition", params))
    assert measured.confirmed, measured.evidence
    assert not measured.evidence["probe"]["answered"]


def test_a_flapping_partition_is_seen_down_and_up(topology):
    params = {
        "link": "api",
        "flapping": {"down": {"min_ms": 200, "max_ms": 300}, "up": {"min_ms": 200, "max_ms": 300}},
    }
    measured = asyncio.run(_inject(topology, "flap", "partition", params))
    assert measured.confirmed, measured.evidence
    assert measured.evidence["probes"]["down"] > 0 and measured.evidence["probes"]["up"] > 0


@pytest.mark.parametrize(
    "params", [{"mode": "pause_replay"}, {"mode": "slow_link", "latency_ms": 300}]
)
def test_replica_lag_is_confirmed_by_the_lag_reached(topology, params):
    sut = Sut(topology.endpoints())
    with _writing(sut):
        measured = asyncio.run(_inject(topology, f"lag-{params['mode']}", "replica_lag", params))
    assert measured.confirmed, measured.evidence
    assert measured.evidence["lag"]["bytes"] > 0
    replica = topology.replica_dsn()
    assert asyncio.run(fetch_value(replica, "SELECT pg_is_wal_replay_paused()")) is False


@contextlib.contextmanager
def _writing(sut: Sut):
    """Charges in the background while the block runs: WAL for the replica to fall behind on."""
    stop = threading.Event()

    def charge_until_stopped():
        for number in range(WRITES_MAX):
            if stop.is_set():
                return
            # A write may fail while the fault lasts (a failover fences the primary): go on.
            with contextlib.suppress(requests.RequestException):
                sut.post(
                    "charge",
                    {"amount": str(100 + number), "currency": "usd", "source": "tok_visa"},
                    key=f"writing-{threading.get_ident()}-{number}",
                )

    writer = threading.Thread(target=charge_until_stopped)
    writer.start()
    try:
        yield
    finally:
        stop.set()
        writer.join()


@pytest.mark.parametrize("replication", ["async", "sync"])
def test_a_failover_promotes_the_replica_and_the_system_goes_on(tmp_path, replication):
    with LocalTopology(tmp_path, merchant_count=1, replication=replication) as local:
        sut = Sut(local.endpoints())
        acknowledged = [sut.charge(700, key=f"before-{number}")["id"] for number in range(5)]
        with _writing(sut):
            measured = asyncio.run(_inject(local, "failover", "failover", {}))
        assert measured.confirmed, measured.evidence
        assert measured.evidence["new_timeline"] > 1
        assert measured.evidence["old_primary_refuses"]
        # Nothing acknowledged before the failover is lost, and the system takes writes again.
        # The new primary is the service that was the replica.
        rows = sut.sql(
            "SELECT id FROM charges WHERE id = ANY($1::text[])", acknowledged, on="pg-replica"
        )
        assert len(rows) == len(acknowledged)
        after = until(lambda: _charged(sut, "after-failover"), timeout_s=30)
        assert after["status"] == "succeeded"
    assert_nothing_left(tmp_path)


def _charged(sut: Sut, key: str):
    with contextlib.suppress(AssertionError):
        return sut.charge(800, key=key)
    return None
