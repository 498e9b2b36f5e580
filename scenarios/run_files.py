"""The run files the scenarios layer writes, each through its run-file model: the scenario
that ran, the topology's endpoints and merchants, the final state, and the `up` process.

One writer per file: the campaign, ``paychaos up`` and the bench call these; nothing else
writes them.
"""

import dataclasses
from pathlib import Path

from invariants.model.endpoints import encode_endpoints, encode_merchants, endpoints_record
from invariants.model.files import (
    ENDPOINTS_FILE,
    FINAL_STATE_FILE,
    MERCHANTS_FILE,
    SCENARIO_FILE,
    UP_FILE,
)
from invariants.model.final_state import FinalState, UncheckedFinalState, encode_final_state
from invariants.model.scenario_record import encode_scenario_record, parse_scenario_record
from invariants.model.up_record import UpRecord, encode_up_record
from reports.atomic import write_atomic
from scenarios.scenario import Scenario
from system_under_test.deploy.topology import Endpoints


def write_scenario(run_dir: Path, scenario: Scenario) -> None:
    """``scenario.json``: the scenario as loaded, before the run starts."""
    record = parse_scenario_record(dataclasses.asdict(scenario), source="scenario")
    write_atomic(run_dir / SCENARIO_FILE, encode_scenario_record(record))


def write_topology_files(run_dir: Path, endpoints: Endpoints) -> Path:
    """``endpoints.json`` and ``merchants.json`` of a started topology; returns the first."""
    record = endpoints_record(endpoints)
    write_atomic(run_dir / MERCHANTS_FILE, encode_merchants(record.merchants))
    path = run_dir / ENDPOINTS_FILE
    write_atomic(path, encode_endpoints(record))
    return path


def write_final_state(run_dir: Path, state: FinalState | UncheckedFinalState) -> None:
    """``final_state.json``, as the final reads built it."""
    write_atomic(run_dir / FINAL_STATE_FILE, encode_final_state(state))


def write_up_record(runs_root: Path, record: UpRecord) -> None:
    """``up.json`` in the runs root: the process that keeps a topology up."""
    write_atomic(runs_root / UP_FILE, encode_up_record(record))
