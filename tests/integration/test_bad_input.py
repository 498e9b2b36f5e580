"""Bad input: a one-line error naming the problem, exit 3, and nothing left running."""

import json
import signal
import socket
import time
from pathlib import Path

import pytest

from invariants.model.files import ENDPOINTS_FILE, LATEST_LINK, UP_FILE
from invariants.model.up_record import UpRecord
from reports.exit_codes import EXIT_HARNESS_ERROR
from scenarios.run_files import write_up_record
from scenarios.scenario import SCENARIO_DIRECTORY
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
        wait_until((tmp_path / UP_FILE).exists, process, timeout_s=120)
        assert endpoints.exists()
        again = paychaos("up", "--proxy-api-port", "0", *runs_dir, runs_dir=tmp_path)
        _one_line_error(again, "already up")
        down = paychaos("down", *runs_dir, runs_dir=tmp_path)
        assert down.exit_code == 0, down.stderr
        assert process.wait(timeout=60) == 0
    assert not (tmp_path / UP_FILE).exists()
    assert_nothing_left(endpoints.parent.resolve())


def test_down_refuses_to_signal_a_pid_it_cannot_prove_is_the_up_process(tmp_path, unrelated_sleep):
    # The record of an earlier version, or any hand-written one: a bare pid proves nothing.
    (tmp_path / UP_FILE).write_text(
        json.dumps({"pid": unrelated_sleep.pid, "run_dir": str(tmp_path)})
    )
    down = paychaos("down", "--runs-dir", str(tmp_path), runs_dir=tmp_path)
    time.sleep(0.5)
    assert unrelated_sleep.poll() is None, "the unrelated process was signalled"
    _one_line_error(down, UP_FILE, "start_ticks")
    assert "internal error" not in down.stderr


def test_down_refuses_a_record_whose_process_started_at_another_time(tmp_path, unrelated_sleep):
    record = UpRecord(
        pid=unrelated_sleep.pid, start_ticks=1, command_line=("sleep", "300"), run_dir="r"
    )
    write_up_record(tmp_path, record)
    down = paychaos("down", "--runs-dir", str(tmp_path), runs_dir=tmp_path)
    time.sleep(0.5)
    assert unrelated_sleep.poll() is None, "the unrelated process was signalled"
    _one_line_error(down, f"refused to signal pid {unrelated_sleep.pid}", "another time")


@pytest.mark.parametrize("text", ["{", "[]", '{"pid": "x"}', ""])
def test_a_malformed_up_record_is_one_line_naming_the_file(tmp_path, text):
    (tmp_path / UP_FILE).write_text(text)
    for command in ("down", "up"):
        result = paychaos(command, "--runs-dir", str(tmp_path), runs_dir=tmp_path)
        _one_line_error(result, UP_FILE)
        assert "internal error" not in result.stderr
    assert sorted(path.name for path in tmp_path.iterdir()) == [UP_FILE]


def test_up_with_its_proxy_port_taken_leaves_latest_and_says_no_topology_went_down(tmp_path):
    earlier = tmp_path / "earlier-run"
    earlier.mkdir()
    (tmp_path / LATEST_LINK).symlink_to(earlier.name)
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = paychaos(
            "up", "--proxy-api-port", str(port), "--runs-dir", str(tmp_path), runs_dir=tmp_path
        )
    _one_line_error(result, f"port {port}", "taken")
    assert "topology down" not in result.stdout
    assert (tmp_path / LATEST_LINK).resolve() == earlier.resolve()
    assert sorted(path.name for path in tmp_path.iterdir()) == ["earlier-run", LATEST_LINK]


@pytest.mark.parametrize(
    ("arguments", "option"),
    [
        (("run", str(BASELINE), "--proxy-api-port", "70000"), "--proxy-api-port"),
        (("run", str(BASELINE), "--proxy-api-port", "-1"), "--proxy-api-port"),
        (("up", "--proxy-api-port", "70000"), "--proxy-api-port"),
        (("up", "--merchants", "0"), "--merchants"),
    ],
)
def test_a_bad_option_value_is_one_line_naming_the_option(tmp_path, arguments, option):
    result = paychaos(*arguments, runs_dir=tmp_path / "runs")
    _one_line_error(result, option)
    assert "internal error" not in result.stderr
    assert not (tmp_path / "runs").exists()


def test_a_runs_dir_that_cannot_be_made_is_one_line_naming_the_option():
    # Root may write anywhere, but no directory can be made in /proc.
    runs_dir = Path("/proc/paychaos-runs")
    result = paychaos("run", str(BASELINE), runs_dir=runs_dir)
    _one_line_error(result, "--runs-dir", "/proc")
    assert "internal error" not in result.stderr


def test_a_file_that_is_no_scenario_is_not_printed(tmp_path):
    result = paychaos("run", "/etc/passwd", runs_dir=tmp_path)
    _one_line_error(result, "/etc/passwd", "not a scenario")
    assert "root:" not in result.stderr
    assert result.run_dir is None


@pytest.mark.parametrize(
    ("original", "replacement", "where"),
    [
        ("duration_s: 30", "duration_s: .nan", "workload.duration_s"),
        ("rate_per_s: 16", "rate_per_s: .inf", "workload.rate_per_s"),
        ("at_s: 5", "at_s: .nan", "faults[0].at_s"),
    ],
)
def test_a_number_that_is_not_finite_is_refused_before_anything_starts(
    tmp_path, original, replacement, where
):
    text = BASELINE.read_text()
    assert original in text
    scenario = tmp_path / "not-finite.yaml"
    scenario.write_text(text.replace(original, replacement, 1))
    result = paychaos("run", str(scenario), runs_dir=tmp_path / "runs")
    _one_line_error(result, where, "not a finite number")
    assert not (tmp_path / "runs").exists()
