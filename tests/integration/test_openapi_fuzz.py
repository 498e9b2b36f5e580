"""Schemathesis against a live topology's API, from /openapi.json alone: every check, its
stateful phase following the document's links, a bounded number of examples and a bounded
time. No check may fail, and the generated requests must have made charges, refunds and
payouts, so that the document says enough to use the API, not only to be refused by it."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from system_under_test.deploy.local import LocalTopology
from tests.integration.conftest import assert_nothing_left
from tests.integration.sut import Sut

pytestmark = pytest.mark.integration

HOOKS = "tests.integration.schemathesis_hooks"
# Two runs on one topology: the stateful phase alone, with valid data, which follows the
# document's links (a charge's answer to a refund of all of it), then the phases that test one
# operation at a time, with valid and invalid data. In one run, the refunds that fuzzing sent
# with random charge ids (404) make Schemathesis skip the refund operation in the stateful
# phase; with invalid data too, it follows the link to a refund a few times in 300 scenarios.
RUNS = {"stateful": "positive", "examples,coverage,fuzzing": "all"}
# Examples per operation and phase: the two runs take about 50 s here, under 90 s with the
# topology's start on two cores. No --max-time: with it, fuzzing repeats until the time is
# spent.
EXAMPLES_MAX = 100
# A fixed seed: a failure replays.
SEED = 7
# positive_data_acceptance lets a schema-valid 400 or 402 pass; the hooks' own check then
# lets them pass only when the system's state refused them.
POSITIVE_STATUSES = ["2xx", "3xx", "400", "401", "402", "403", "404", "409", "429", "5xx"]
# Each run's time bound: about three times what it takes here.
PROCESS_TIMEOUT_S = 90


@pytest.fixture(scope="module")
def topology(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("fuzz")
    with LocalTopology(run_dir, merchant_count=1) as local:
        yield local
    assert_nothing_left(run_dir)


def _schemathesis(
    api_url: str, api_key: str, phases: str, mode: str, work: Path
) -> tuple[int, str, dict]:
    config = work / "schemathesis.toml"
    statuses = ", ".join(f'"{status}"' for status in POSITIVE_STATUSES)
    config.write_text(f"[checks.positive_data_acceptance]\nexpected-statuses = [{statuses}]\n")
    report = work / f"report-{phases}.json"
    command = [
        str(Path(sys.executable).parent / "schemathesis"),
        "--config-file",
        str(config),
        "run",
        f"{api_url}/openapi.json",
        "--header",
        f"Authorization: Bearer {api_key}",
        "--checks",
        "all",
        "--phases",
        phases,
        "--mode",
        mode,
        "--max-examples",
        str(EXAMPLES_MAX),
        "--seed",
        str(SEED),
        "--workers",
        "1",
        "--generation-database",
        "none",
        "--no-color",
        "--report",
        "json",
        "--report-json-path",
        str(report),
    ]
    root = Path(__file__).parents[2]
    environment = {
        **os.environ,
        "SCHEMATHESIS_HOOKS": HOOKS,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")])),
    }
    completed = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=PROCESS_TIMEOUT_S,
        env=environment,
        # Schemathesis keeps its own files in the working directory.
        cwd=work,
        check=False,
    )
    return completed.returncode, completed.stdout, json.loads(report.read_text())


def test_schemathesis_finds_nothing_and_makes_money_move(topology, tmp_path):
    endpoints = topology.endpoints()
    runs = {
        phases: _schemathesis(
            endpoints.api_url, endpoints.merchants[0].api_key, phases, mode, tmp_path
        )
        for phases, mode in RUNS.items()
    }
    sut = Sut(endpoints)
    made = {
        table: sut.sql_value(f"SELECT count(*) FROM {table} WHERE state = 'SUCCEEDED'")
        for table in ("charges", "refunds", "payouts")
    }
    for phases, (_, _, report) in runs.items():
        print(
            f"schemathesis {phases}: {report['test_cases']['generated']} test cases in "
            f"{report['running_time']:.0f} s"
        )
    print(f"succeeded: {made}")
    for phases, (exit_code, output, report) in runs.items():
        assert exit_code == 0, output[-6000:]
        assert report["failures"] == [], phases
        assert report["errors"] == [], phases
    assert runs["stateful"][2]["phases"]["stateful"]["status"] == "success"
    assert all(count > 0 for count in made.values()), made
