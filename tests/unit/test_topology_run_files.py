"""The run files of what ran and where: scenario.json, endpoints.json and merchants.json,
written by the scenarios layer through the run-file model and read back through it."""

import dataclasses
import json

import pytest

from invariants import RunFileError
from invariants.model.endpoints import (
    EndpointsRecord,
    MerchantRecord,
    load_endpoints,
    load_merchants,
)
from invariants.model.files import ENDPOINTS_FILE, MERCHANTS_FILE, SCENARIO_FILE
from invariants.model.scenario_record import load_scenario_record
from scenarios.run_files import write_scenario, write_topology_files
from scenarios.scenario import load_scenario
from system_under_test.deploy.topology import Endpoints, Merchant

ENDPOINTS = Endpoints(
    backend="local",
    run_dir="reports/runs/r1",
    proxy_api="127.0.0.1:8474",
    services={"api": "127.0.0.1:4001", "pg-primary": "127.0.0.1:4002"},
    links={"api": {"listen": "127.0.0.1:4101", "upstream": "127.0.0.1:4001"}},
    api_url="http://127.0.0.1:4101",
    primary_dsn="postgresql://postgres@127.0.0.1:4002/paychaos",
    network_url="http://127.0.0.1:4003",
    merchants=[Merchant("acct_1", "sk_test_1"), Merchant("acct_2", "sk_test_2")],
    defects=["no-row-lock"],
    admin_urls={"api": "http://127.0.0.1:4004"},
)


def test_the_endpoints_record_has_the_fields_a_backend_gives():
    fields = [field.name for field in dataclasses.fields(Endpoints)]
    assert list(EndpointsRecord.__struct_fields__) == fields
    assert list(MerchantRecord.__struct_fields__) == [
        field.name for field in dataclasses.fields(Merchant)
    ]


def test_endpoints_and_merchants_read_back_as_the_backend_gave_them(tmp_path):
    path = write_topology_files(tmp_path, ENDPOINTS)

    assert path == tmp_path / ENDPOINTS_FILE
    endpoints = load_endpoints(path)
    assert dataclasses.asdict(ENDPOINTS) == json.loads(path.read_text())
    assert endpoints.api_url == ENDPOINTS.api_url
    assert endpoints.merchants == (
        MerchantRecord("acct_1", "sk_test_1"),
        MerchantRecord("acct_2", "sk_test_2"),
    )
    assert load_merchants(tmp_path / MERCHANTS_FILE) == endpoints.merchants


def test_a_broken_endpoints_file_is_named_with_its_field(tmp_path):
    path = write_topology_files(tmp_path, ENDPOINTS)
    document = json.loads(path.read_text())
    document["merchants"][1]["api_key"] = 7
    path.write_text(json.dumps(document))

    with pytest.raises(
        RunFileError, match=r"endpoints.json: merchants\[1\]: field 'api_key' must be a string"
    ):
        load_endpoints(path)


def test_the_scenario_reads_back_with_its_seed_and_invariants(tmp_path):
    scenario = load_scenario("baseline", seed=11)

    write_scenario(tmp_path, scenario)

    record = load_scenario_record(tmp_path / SCENARIO_FILE)
    assert (record.name, record.seed, record.invariants) == ("baseline", 11, scenario.invariants)
    assert json.loads((tmp_path / SCENARIO_FILE).read_text()) == json.loads(
        json.dumps(dataclasses.asdict(scenario))
    )


def test_a_broken_scenario_file_is_named_with_its_field(tmp_path):
    write_scenario(tmp_path, load_scenario("baseline"))
    path = tmp_path / SCENARIO_FILE
    path.write_text(json.dumps(json.loads(path.read_text()) | {"seed": "seven"}))

    with pytest.raises(RunFileError, match=r"scenario\.json: field 'seed' must be an integer"):
        load_scenario_record(path)
