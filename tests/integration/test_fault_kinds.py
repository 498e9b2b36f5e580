"""Fault kinds against a live topology: each toxic's configured effect is measured through its
own link, and an effect that was not there is not confirmed."""

import asyncio

import pytest

from faults.kinds import KINDS, FaultContext
from faults.toxiproxy_api import ToxiproxyApi
from scenarios.observe.final_reads import unresolved_or_none
from system_under_test.deploy.local import LocalTopology
from system_under_test.deploy.ports import free_port
from tests.integration.conftest import assert_nothing_left

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def topology(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("kinds")
    with LocalTopology(run_dir, merchant_count=1, seed=5) as local:
        yield local
    assert_nothing_left(run_dir)


async def _inject(topology, name: str, kind: str, params: dict):
    endpoints = topology.endpoints()
    async with ToxiproxyApi(endpoints.proxy_api) as toxiproxy:
        context = FaultContext(
            toxiproxy=toxiproxy,
            links=endpoints.links,
            admin_urls=endpoints.admin_urls,
            processes=topology,
            unresolved_count=lambda: unresolved_or_none(endpoints.primary_dsn),
            now_s=asyncio.get_running_loop().time,
        )
        fault_kind = KINDS[kind]
        prepared = await fault_kind.prepare(context, params)
        active = await fault_kind.start(context, name, params, prepared)
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
