"""Command-line values refused by the parser: the error names the option, exit 3, one line."""

from pathlib import Path

import pytest

from reports.exit_codes import EXIT_HARNESS_ERROR
from scenarios.cli_parser import parser


def _refused(capsys, *arguments: str) -> str:
    with pytest.raises(SystemExit) as exited:
        parser().parse_args(list(arguments))
    assert exited.value.code == EXIT_HARNESS_ERROR
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


@pytest.mark.parametrize("command", ["run", "up"])
@pytest.mark.parametrize("port", ["70000", "-1", "x", "65536"])
def test_a_port_out_of_range_names_the_option(capsys, command, port):
    line = _refused(capsys, command, f"--proxy-api-port={port}")
    assert "--proxy-api-port" in line
    assert "65535" in line


@pytest.mark.parametrize("command", ["run", "up"])
def test_port_zero_is_any_port_and_the_top_of_the_range_is_a_port(command):
    assert parser().parse_args([command, "--proxy-api-port", "0"]).proxy_api_port == 0
    assert parser().parse_args([command, "--proxy-api-port", "65535"]).proxy_api_port == 65535


@pytest.mark.parametrize("count", ["0", "-2", "1.5"])
def test_up_needs_at_least_one_merchant(capsys, count):
    line = _refused(capsys, "up", f"--merchants={count}")
    assert "--merchants" in line


@pytest.mark.parametrize("command", ["run", "up", "campaign", "mutants", "bench"])
def test_a_runs_dir_that_cannot_be_made_names_the_option(capsys, tmp_path, command):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    line = _refused(capsys, command, "--runs-dir", str(blocker / "runs"))
    assert "--runs-dir" in line
    assert "not a directory" in line


def test_a_runs_dir_under_proc_names_the_option(capsys):
    line = _refused(capsys, "run", "--runs-dir", "/proc/paychaos-runs")
    assert "--runs-dir" in line


def test_a_runs_dir_that_exists_or_can_be_made_is_taken(tmp_path):
    arguments = parser().parse_args(["run", "--runs-dir", str(tmp_path / "new" / "runs")])
    assert Path(arguments.runs_dir) == tmp_path / "new" / "runs"
    assert not (tmp_path / "new").exists()


@pytest.mark.parametrize("seed", ["-1", "nan", "1.5"])
def test_a_seed_is_a_whole_number(capsys, seed):
    assert "--seed" in _refused(capsys, "run", f"--seed={seed}")


@pytest.mark.parametrize(
    ("option", "value"),
    [("--step-s", "nan"), ("--step-s", "0"), ("--pgbench-s", "inf"), ("--debit-share", "nan")],
)
def test_bench_numbers_are_finite(capsys, option, value):
    assert option in _refused(capsys, "bench", f"{option}={value}")


def test_bench_merchants_and_statements_are_counts(capsys):
    assert "--merchants" in _refused(capsys, "bench", "--merchants=0")
    assert "--statements" in _refused(capsys, "bench", "--statements=0")
