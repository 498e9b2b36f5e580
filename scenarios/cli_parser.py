"""The `paychaos` command: run a campaign, sweep scenarios x seeds, keep a topology up,
re-check or compare stored runs.

Exit codes: 0 valid, 1 invalid, 2 unknown, 3 harness error (bad input, deployment failure,
interrupted); `compare`: 0 same verdict, 1 verdicts differ, 3 unreadable run.
"""

# The docstring above is the description `paychaos --help` prints; this module is the
# command line's grammar (subcommands, flags, their types), scenarios/cli.py its handlers.

import argparse
import math
import os
import tempfile
from pathlib import Path
from typing import NoReturn

from faults.proxy import DEFAULT_HOST, DEFAULT_PORT
from faults.proxy.address import port_argument
from reports import EXIT_HARNESS_ERROR
from scenarios import sweep
from scenarios.bench import BenchSettings
from scenarios.campaign import RUNS_ROOT

CAMPAIGN_HELP = "each scenario with each seed, one after the other; one aggregate report"
CAMPAIGN_DESCRIPTION = (
    "Run each scenario with each seed, one after the other, and write campaign.json and "
    "campaign.md under RUNS_DIR/campaigns/. Exit code: the combined verdict (0 valid, "
    "1 invalid, 2 unknown); 3 on bad input or when interrupted (the finished runs are still "
    "aggregated)."
)
COMPARE_HELP = "two stored runs side by side; exit 0 if their verdicts are equal, 1 if not"
COMPARE_DESCRIPTION = (
    "Compare two run directories from their report.json: verdicts, invariants and "
    "anomalies, op counts, faults confirmed, provenance. Exit code: 0 when both runs have the "
    "same overall verdict, 1 when they differ, 3 when a directory or its report.json is "
    "missing or broken."
)
# The open-loop ladder's highest offered rate, in charges per second: far above any machine.
RATE_PER_S_MAX = 100_000


def _rates(text: str) -> tuple[float, ...]:
    """Comma-separated offered rates per second."""
    try:
        values = tuple(float(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list") from None
    if not values or any(not 0 < rate <= RATE_PER_S_MAX for rate in values):
        raise argparse.ArgumentTypeError(f"rates {text!r} must be numbers in (0, {RATE_PER_S_MAX}]")
    return values


def _parts(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _counts(text: str) -> tuple[int, ...]:
    """Comma-separated whole numbers of at least 1."""
    parts = _parts(text)
    if not parts or not all(part.isdigit() and int(part) >= 1 for part in parts):
        raise argparse.ArgumentTypeError(f"{text!r} must be whole numbers of at least 1")
    return tuple(int(part) for part in parts)


def _scenario_list(text: str) -> list[str]:
    """Comma-separated scenario names or paths."""
    names = _parts(text)
    if not names:
        raise argparse.ArgumentTypeError(f"{text!r} names no scenario")
    return names


def _seeds(text: str) -> tuple[int, ...]:
    """Comma-separated seeds, each once, in the order given."""
    parts = _parts(text)
    if not parts or not all(part.isdigit() for part in parts):
        raise argparse.ArgumentTypeError(f"seeds {text!r} must be whole numbers, e.g. 7,8")
    return tuple(dict.fromkeys(int(part) for part in parts))


def _path(text: str) -> Path | None:
    """A path; an empty one is none given."""
    return Path(text) if text else None


def _at_least_one(text: str) -> int:
    """A whole number of at least 1."""
    if not text.strip().isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be a whole number of at least 1")
    return int(text)


def _whole_number(text: str) -> int:
    """A whole number of at least 0 (a seed)."""
    if not text.strip().isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} must be a whole number of at least 0")
    return int(text)


def _finite(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return value


def _positive_seconds(text: str) -> float:
    """A finite number of seconds above 0."""
    value = _finite(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be a number of seconds above 0")
    return value


def _share(text: str) -> float:
    """A finite share from 0 to 1."""
    value = _finite(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be a number from 0 to 1")
    return value


def _runs_dir(text: str) -> Path:
    """A directory that exists or can be made, where a run directory can be made; checked
    without leaving anything behind (a probe directory is made and removed at once)."""
    path = Path(text).absolute()
    existing = next(candidate for candidate in (path, *path.parents) if candidate.exists())
    if not existing.is_dir():
        raise argparse.ArgumentTypeError(f"{existing} is not a directory")
    try:
        os.rmdir(tempfile.mkdtemp(prefix=".paychaos-probe-", dir=existing))
    except OSError as error:
        raise argparse.ArgumentTypeError(
            f"cannot make a directory in {existing}: {error.strerror}"
        ) from None
    return Path(text)


def _add_runs_dir(command: argparse.ArgumentParser, help_text: str, **names: str) -> None:
    # A Path default is not run through the type: only a directory given is probed.
    command.add_argument("--runs-dir", type=_runs_dir, default=RUNS_ROOT, help=help_text, **names)


class _ArgumentParser(argparse.ArgumentParser):
    """Usage errors exit 3 (harness error): argparse's own 2 would read as `unknown`."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_HARNESS_ERROR, f"{self.prog}: error: {message} (see --help)\n")


Commands = argparse._SubParsersAction


def _add_quiet(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="print only the verdict line(s) CI needs; errors still go to stderr",
    )


def _add_run(commands: Commands) -> None:
    run = commands.add_parser("run", help="run a campaign and write its report")
    run.add_argument("scenario", nargs="?", default="baseline", help="bundled name or YAML path")
    run.add_argument("--seed", type=_whole_number, help="override the scenario's seed")
    run.add_argument(
        "--proxy-api-port", type=port_argument, default=0, help="fault proxy API port (0: any)"
    )
    _add_runs_dir(run, "where run directories go")
    _add_quiet(run)


def _add_analyze(commands: Commands) -> None:
    analyze = commands.add_parser("analyze", help="re-check a stored run without re-running it")
    analyze.add_argument("run_dir", help="a run directory, e.g. reports/runs/latest")
    _add_quiet(analyze)


def _add_campaign(commands: Commands) -> None:
    campaign = commands.add_parser("campaign", help=CAMPAIGN_HELP, description=CAMPAIGN_DESCRIPTION)
    campaign.add_argument(
        "--scenarios",
        type=_scenario_list,
        default=[sweep.ALL_SCENARIOS],
        help="comma-separated bundled names or YAML paths, or `all` (default: all)",
    )
    seeds = campaign.add_mutually_exclusive_group()
    seeds.add_argument("--seeds", type=_seeds, help="comma-separated seeds for every scenario")
    seeds.add_argument(
        "--seed-count",
        type=_at_least_one,
        default=1,
        help="each scenario's own seed and the N-1 after it (default %(default)s)",
    )
    _add_runs_dir(campaign, "where the campaign goes")
    _add_quiet(campaign)


def _add_compare(commands: Commands) -> None:
    compare = commands.add_parser("compare", help=COMPARE_HELP, description=COMPARE_DESCRIPTION)
    compare.add_argument("run_a", help="the first run directory")
    compare.add_argument("run_b", help="the second run directory")
    _add_quiet(compare)


def _add_up_and_down(commands: Commands) -> None:
    up = commands.add_parser("up", help="start the local topology and keep it until Ctrl-C")
    up.add_argument(
        "--proxy-api-port", type=port_argument, default=8474, help="fault proxy API port (0: any)"
    )
    up.add_argument("--merchants", type=_at_least_one, default=2, help="test merchants to seed")
    _add_runs_dir(up, "where the run directory goes")
    down = commands.add_parser("down", help="tear down the topology that `paychaos up` keeps")
    # Only read: `down` makes nothing there.
    down.add_argument(
        "--runs-dir", type=Path, default=RUNS_ROOT, help="the `up` command's runs dir"
    )


def _add_bench(commands: Commands) -> None:
    # Each flag's destination is the BenchSettings field it sets: the CLI passes them on.
    bench = commands.add_parser(
        "bench", help="offered-load ladder, pgbench and the capacity model; writes bench.json"
    )
    add = bench.add_argument
    add("--seed", type=_whole_number, default=7, help="seed of the ladder's requests")
    add(
        "--rates",
        type=_rates,
        default=BenchSettings().rates,
        help="offered charges/s per step, comma-separated (default %(default)s)",
    )
    add("--step-s", type=_positive_seconds, default=8.0, help="seconds per step")
    add("--debit-share", type=_share, default=0.1, help="refunds and payouts, each, per charge")
    add("--merchants", type=_at_least_one, default=8, help="merchants the load spreads over")
    add("--api-processes", type=int, help="PAYCHAOS_API_PROCESSES of the API (default: its own)")
    add(
        "--no-direct",
        action="store_false",
        dest="direct",
        help="skip the ladder that bypasses the proxy",
    )
    add(
        "--pgbench-clients",
        type=_counts,
        default=(16, 1),
        help="pgbench -c per run (16,1)",
    )
    add("--pgbench-s", type=_positive_seconds, default=8.0, help="seconds per pgbench run")
    add(
        "--statements",
        type=_at_least_one,
        default=50,
        dest="statement_count",
        metavar="STATEMENTS",
        help="operations per kind for statement counts",
    )
    add(
        "--baseline-run",
        type=_path,
        help="a campaign run directory whose history gives API calls per charge "
        "(default: run the baseline campaign)",
    )
    _add_runs_dir(bench, "where the run directory goes", dest="runs_root", metavar="RUNS_DIR")
    add("--out", type=_path, help="write bench.json and bench.md into this directory")


def _add_mutants(commands: Commands) -> None:
    matrix = commands.add_parser(
        "mutants",
        help="the defect matrix: each defect caught on its scenario, the correct system valid",
    )
    matrix.add_argument("--only", help="comma-separated defects to run (default: all)")
    _add_runs_dir(matrix, "where the matrix goes")
    _add_quiet(matrix)


def _add_proxy(commands: Commands) -> None:
    proxy = commands.add_parser(
        "proxy", help="run the fault proxy (Toxiproxy API) in the foreground until Ctrl-C"
    )
    proxy.add_argument("--host", default=DEFAULT_HOST, help="API host (default %(default)s)")
    proxy.add_argument(
        "--port", type=port_argument, default=DEFAULT_PORT, help="API port (default %(default)s)"
    )
    proxy.add_argument("--seed", type=int, help="seed of the toxicity rolls and jitter")


def parser() -> argparse.ArgumentParser:
    """The `paychaos` parser: one subcommand per command, in the order --help lists them."""
    top = _ArgumentParser(prog="paychaos", description=__doc__)
    top.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    commands = top.add_subparsers(dest="command", required=True)
    for add in (
        _add_run,
        _add_analyze,
        _add_campaign,
        _add_compare,
        _add_up_and_down,
        _add_bench,
        _add_mutants,
        _add_proxy,
    ):
        add(commands)
    return top
