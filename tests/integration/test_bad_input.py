"""Bad input: a one-line error naming the problem, exit 3, and nothing left running."""

import signal
import socket

import pytest

from invariants.model.files import ENDPOINTS_FILE, LATEST_LINK
from reports.exit_codes import EXIT_HARNESS_ERROR
from scenarios.scenario import SCENARIO_DIRECTORY
from scenarios.supervise import UP_STATE_FILE_NAME
from tests.integration.conftest import (
    assert_nothing_left,
    background_paychaos,
    paychaos,
    wait_until,
)

pytestmark = pytest.mark.integration

# Each run here ends before its workload does, or soon after it starts.
BASELINE = SCENARIO_DIRECTORY / "baseline.yaml"


def _one_line_error(result, *fragments):
    assert result.exit_code == EXIT_HARNESS_ERROR, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in lines[0]


def test_unknown_scenario(tmp_path):
    result = paychaos("run", "no-such-scenario", runs_dir=tmp_path)
    _one_line_error(result, "unknown scenario 'no-such-scenario'")
    assert result.run_dir is None


def test_missing_scenario_file(tmp_path):
    result = paychaos("run", str(tmp_path / "absent.yaml"), runs_dir=tmp_path)
    _one_line_error(result, "scenario file not found")


def test_unparsable_yaml(tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: broken\nworkload: {clients: 2\n")
    result = paychaos("run", str(broken), runs_dir=tmp_path)
    _one_line_error(result, "unparsable YAML", "broken.yaml")
    assert result.run_dir is None


def test_missing_postgresql_binaries(tmp_path):
    result = paychaos(
        "run",
        str(BASELINE),
        runs_dir=tmp_path,
        environment={"PAYCHAOS_PG_BINDIR": str(tmp_path / "no-postgres")},
    )
    _one_line_error(result, "PostgreSQL 15 server binaries not found")
    assert result.run_dir is None


def test_unknown_defect(tmp_path):
    result = paychaos(
        "run",
        str(BASELINE),
        runs_dir=tmp_path,
        environment={"PAYCHAOS_SUT_DEFECTS": "no-such-bug"},
    )
    _one_line_error(result, "unknown defect 'no-such-bug'")


def test_a_defect_not_implemented_yet_is_refused(tmp_path):
    result = paychaos(
        "run",
        str(BASELINE),
        runs_dir=tmp_path,
        environment={"PAYCHAOS_SUT_DEFECTS": "no-row-lock,webhook-mark-before-send"},
    )
    _one_line_error(result, "'webhook-mark-before-send'", "not implemented")
    assert result.run_dir is None


def test_a_misspelled_toxic_attribute_exits_3_naming_it(tmp_path):
    scenario = BASELINE.read_text().replace("latency: 1200", "latncy: 1200")
    assert "latncy" in scenario
    typo = tmp_path / "typo.yaml"
    typo.write_text(scenario)
    result = paychaos("run", str(typo), runs_dir=tmp_path / "runs")
    _one_line_error(result, "latncy", "faults[1].toxic.attributes")
    assert not (tmp_path / "runs").exists() or list((tmp_path / "runs").iterdir()) == []


def test_taken_proxy_port(tmp_path):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = paychaos("run", str(BASELINE), "--proxy-api-port", str(port), runs_dir=tmp_path)
    _one_line_error(result, f"port {port}", "taken")
    assert result.run_dir is None
    assert list(tmp_path.iterdir()) == []


def test_interrupt_tears_everything_down(tmp_path):
    history = tmp_path / "latest" / "history.jsonl"
    with background_paychaos("run", str(BASELINE), "--runs-dir", str(tmp_path)) as process:
        # Interrupt once the workload is running, with every service up.
        wait_until(lambda: history.exists() and history.stat().st_size > 0, process, timeout_s=120)
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=120)
    assert process.returncode == EXIT_HARNESS_ERROR
    assert "interrupted" in stderr
    assert_nothing_left((tmp_path / "latest").resolve())


def test_up_writes_endpoints_and_down_tears_it_down(tmp_path):
    endpoints = tmp_path / LATEST_LINK / ENDPOINTS_FILE
    runs_dir = ("--runs-dir", str(tmp_path))
    with background_paychaos("up", "--proxy-api-port", "0", *runs_dir) as process:
        wait_until((tmp_path / UP_STATE_FILE_NAME).exists, process, timeout_s=120)
        assert endpoints.exists()
        again = paychaos("up", "--proxy-api-port", "0", *runs_dir, runs_dir=tmp_path)
        _one_line_error(again, "already up")
        down = paychaos("down", *runs_dir, runs_dir=tmp_path)
        assert down.exit_code == 0, down.stderr
        assert process.wait(timeout=60) == 0
    assert not (tmp_path / UP_STATE_FILE_NAME).exists()
    assert_nothing_left(endpoints.parent.resolve())
