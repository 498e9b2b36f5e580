"""The `paychaos` command: run a campaign, sweep scenarios x seeds, keep a topology up,
re-check or compare stored runs.

Exit codes: 0 valid, 1 invalid, 2 unknown, 3 harness error (bad input, deployment failure,
interrupted); `compare`: 0 same verdict, 1 verdicts differ, 3 unreadable run.
"""

import argparse
import functools
import logging
import signal
import sys
import time
import traceback
from pathlib import Path
from typing import NoReturn

import invariants
import reports
from faults.proxy import DEFAULT_HOST, DEFAULT_PORT, CannotListen, serve_until_stopped
from faults.proxy.address import parse_port
from reports import EXIT_HARNESS_ERROR
from reports import compare as comparing
from reports.campaign_report import CAMPAIGN_FILE, render_campaign_md
from scenarios import mutants, supervise, sweep
from scenarios.analyze import analyze_run
from scenarios.bench import BenchError, BenchSettings, run_bench
from scenarios.campaign import RUNS_ROOT, run_campaign
from scenarios.errors import HarnessError
from scenarios.progress import run_progress
from scenarios.scenario import ScenarioError, load_scenario
from system_under_test.defects import UnknownDefectError, defects_from_environment
from system_under_test.deploy import new_topology
from system_under_test.deploy.errors import DeployError


def _terminate_as_interrupt(signal_number: int, frame: object) -> None:
    # SIGTERM takes the same path as Ctrl-C: every `finally` tears down what it started.
    raise KeyboardInterrupt


def _defects() -> tuple[str, ...]:
    try:
        return tuple(sorted(defects_from_environment()))
    except UnknownDefectError as error:
        raise HarnessError(str(error)) from None


def command_run(arguments: argparse.Namespace) -> int:
    scenario = load_scenario(
        arguments.scenario, known_invariants=frozenset(invariants.CHECKERS), seed=arguments.seed
    )
    defects = _defects()
    started = time.monotonic()
    runs_root = Path(arguments.runs_dir)
    runs_root.mkdir(parents=True, exist_ok=True)
    outcome = run_campaign(
        scenario, defects=defects, runs_root=runs_root, proxy_api_port=arguments.proxy_api_port
    )
    if not arguments.quiet:
        _print_summary(outcome.report)
    print(f"verdict: {outcome.verdict}")
    print(f"report: {outcome.run_dir / reports.REPORT_FILE}")
    if not arguments.quiet:
        print(f"summary: {outcome.run_dir / reports.SUMMARY_FILE}")
        print(f"wall time: {time.monotonic() - started:.1f} s")
    return outcome.exit_code


def _print_summary(report: dict) -> None:
    for result in report["invariants"]:
        print(f"  {result['name']:<20} {result['verdict']:<8} {result['anomaly_count']} anomalies")
    for f, counts in report["stats"]["ops"].items():
        outcomes = ", ".join(f"{kind} {count}" for kind, count in counts.items())
        print(f"  ops {f}: {outcomes}")
    for fault in report["faults"]:
        print(f"  fault {fault['name']} on {fault['target']}: confirmed={fault['confirmed']}")


def command_analyze(arguments: argparse.Namespace) -> int:
    run_dir = Path(arguments.run_dir)
    verdict, report = analyze_run(run_dir, warn=functools.partial(print, file=sys.stderr))
    print(f"verdict: {verdict}")
    if not arguments.quiet:
        for gap in report.get("gaps", []):
            print(f"incomplete run: {gap}")
    print(f"report: {run_dir / reports.REPORT_FILE}")
    return reports.exit_code(verdict)


def command_campaign(arguments: argparse.Namespace) -> int:
    """Run each scenario with each seed; exit with the combined verdict of every run."""
    scenarios = sweep.plan(
        arguments.scenarios, seeds=arguments.seeds, seed_count=arguments.seed_count
    )
    defects = _defects()
    campaign_dir = sweep.new_campaign_dir(Path(arguments.runs_dir))
    run_one = functools.partial(run_campaign, defects=defects)
    with run_progress(len(scenarios), "campaign", quiet=arguments.quiet) as progress:
        outcome = sweep.run_sweep(
            scenarios, campaign_dir, run_one=run_one, progress=progress, defects=defects
        )
    if not arguments.quiet:
        print(render_campaign_md(outcome.document))
    verdict = outcome.document["verdict"]
    print(f"verdict: {verdict}")
    print(f"campaign: {campaign_dir / CAMPAIGN_FILE}")
    if outcome.interrupted:
        # As for `run`: a stopped campaign is a harness outcome, not a verdict on the system.
        print(
            f"paychaos: interrupted after {outcome.document['finished']} of "
            f"{outcome.document['planned']} runs; everything started was stopped",
            file=sys.stderr,
        )
        return EXIT_HARNESS_ERROR
    return reports.exit_code(verdict)


def command_compare(arguments: argparse.Namespace) -> int:
    """Print two stored runs side by side; exit 0 if their verdicts are equal, else 1."""
    try:
        first = comparing.load_stored_run(Path(arguments.run_a))
        second = comparing.load_stored_run(Path(arguments.run_b))
    except comparing.CompareError as error:
        raise HarnessError(str(error)) from None
    comparison = comparing.compare_runs(first, second)
    if arguments.quiet:
        print(comparing.verdict_line(comparison))
    else:
        print("\n".join(comparing.render_comparison(comparison)))
    return comparison.exit_code


def command_up(arguments: argparse.Namespace) -> int:
    runs_root = Path(arguments.runs_dir)
    run_dir = supervise.new_up_run(runs_root)
    topology = new_topology(
        run_dir,
        defects=_defects(),
        proxy_api_port=arguments.proxy_api_port,
        merchant_count=arguments.merchants,
    )
    try:
        with supervise.kept_up(topology, run_dir, runs_root) as endpoints_file:
            endpoints = topology.endpoints()
            print(f"topology up: {endpoints_file}")
            print(f"api: {endpoints.api_url}  proxy API: {endpoints.proxy_api}")
            print("Ctrl-C or `paychaos down` to tear it down", flush=True)
            supervise.wait_for_stop()
    finally:
        print("topology down")
    return 0


def command_down(arguments: argparse.Namespace) -> int:
    print(supervise.take_down(Path(arguments.runs_dir)))
    return 0


def _port(text: str) -> int:
    try:
        return parse_port(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def command_proxy(arguments: argparse.Namespace) -> int:
    """Serve the fault proxy in the foreground until Ctrl-C or SIGTERM (toxiproxy-server)."""
    try:
        serve_until_stopped(host=arguments.host, port=arguments.port, seed=arguments.seed)
    except CannotListen as error:
        raise HarnessError(str(error)) from None
    return 0


def command_mutants(arguments: argparse.Namespace) -> int:
    """Run the defect matrix; exit 0 when every defect is caught and nothing else alarms."""
    names = None
    if arguments.only:
        names = [name.strip() for name in arguments.only.split(",") if name.strip()]
    try:
        chosen = mutants.choose(names)
        total = mutants.run_count(chosen)
        with run_progress(total, "mutants", quiet=arguments.quiet) as progress:
            matrix_dir, rows = mutants.run_matrix(
                chosen, Path(arguments.runs_dir), progress=progress.done
            )
    except mutants.MatrixError as error:
        raise HarnessError(str(error)) from None
    table = mutants.markdown(rows)
    passed = all(row.passed for row in rows)
    if arguments.quiet:
        print(f"mutants: {'passed' if passed else 'failed'}")
    else:
        print(table)
    print(f"matrix: {matrix_dir / mutants.MATRIX_FILE}")
    return 0 if passed else 1


def _rates(text: str) -> tuple[float, ...]:
    try:
        rates = tuple(float(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list") from None
    if not rates or any(not 0 < rate <= 100_000 for rate in rates):
        raise argparse.ArgumentTypeError(f"rates {text!r} must be numbers in (0, 100000]")
    return rates


def _counts(text: str) -> tuple[int, ...]:
    parts = [part.strip() for part in text.split(",") if part.strip()]
    if not parts or not all(part.isdigit() and int(part) >= 1 for part in parts):
        raise argparse.ArgumentTypeError(f"{text!r} must be whole numbers of at least 1")
    return tuple(int(part) for part in parts)


def _scenario_list(text: str) -> list[str]:
    names = [part.strip() for part in text.split(",") if part.strip()]
    if not names:
        raise argparse.ArgumentTypeError(f"{text!r} names no scenario")
    return names


def _seeds(text: str) -> tuple[int, ...]:
    parts = [part.strip() for part in text.split(",") if part.strip()]
    if not parts or not all(part.isdigit() for part in parts):
        raise argparse.ArgumentTypeError(f"seeds {text!r} must be whole numbers, e.g. 7,8")
    return tuple(dict.fromkeys(int(part) for part in parts))


def _at_least_one(text: str) -> int:
    if not text.strip().isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be a whole number of at least 1")
    return int(text)


def _add_quiet(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="print only the verdict line(s) CI needs; errors still go to stderr",
    )


def command_bench(arguments: argparse.Namespace) -> int:
    """Run the open-loop ladder, pgbench and the capacity model; print the Markdown report."""
    try:
        settings = BenchSettings(
            seed=arguments.seed,
            rates=arguments.rates,
            step_s=arguments.step_s,
            debit_share=arguments.debit_share,
            merchants=arguments.merchants,
            api_processes=arguments.api_processes,
            direct=not arguments.no_direct,
            pgbench_clients=arguments.pgbench_clients,
            pgbench_s=arguments.pgbench_s,
            statement_count=arguments.statements,
            baseline_run=Path(arguments.baseline_run) if arguments.baseline_run else None,
            runs_root=Path(arguments.runs_dir),
            out=Path(arguments.out) if arguments.out else None,
        )
        outcome = run_bench(settings)
    except BenchError as error:
        raise HarnessError(str(error)) from None
    print(outcome.markdown)
    print(f"bench: {outcome.run_dir / 'bench.json'}")
    return 0


class _ArgumentParser(argparse.ArgumentParser):
    """Usage errors exit 3 (harness error): argparse's own 2 would read as `unknown`."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_HARNESS_ERROR, f"{self.prog}: error: {message} (see --help)\n")


def _add_campaign(commands: argparse._SubParsersAction) -> None:
    campaign = commands.add_parser(
        "campaign",
        help="each scenario with each seed, one after the other; one aggregate report",
        description="Run each scenario with each seed, one after the other, and write "
        "campaign.json and campaign.md under RUNS_DIR/campaigns/. Exit code: the combined "
        "verdict (0 valid, 1 invalid, 2 unknown); 3 on bad input or when interrupted (the "
        "finished runs are still aggregated).",
    )
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
    campaign.add_argument("--runs-dir", default=str(RUNS_ROOT), help="where the campaign goes")
    _add_quiet(campaign)
    campaign.set_defaults(handler=command_campaign)


def _add_compare(commands: argparse._SubParsersAction) -> None:
    compare = commands.add_parser(
        "compare",
        help="two stored runs side by side; exit 0 if their verdicts are equal, 1 if not",
        description="Compare two run directories from their report.json: verdicts, "
        "invariants and anomalies, op counts, faults confirmed, provenance. Exit code: 0 "
        "when both runs have the same overall verdict, 1 when they differ, 3 when a "
        "directory or its report.json is missing or broken.",
    )
    compare.add_argument("run_a", help="the first run directory")
    compare.add_argument("run_b", help="the second run directory")
    _add_quiet(compare)
    compare.set_defaults(handler=command_compare)


def parser() -> argparse.ArgumentParser:
    top = _ArgumentParser(prog="paychaos", description=__doc__)
    top.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    commands = top.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="run a campaign and write its report")
    run.add_argument("scenario", nargs="?", default="baseline", help="bundled name or YAML path")
    run.add_argument("--seed", type=int, help="override the scenario's seed")
    run.add_argument("--proxy-api-port", type=int, default=0, help="fault proxy API port")
    run.add_argument("--runs-dir", default=str(RUNS_ROOT), help="where run directories go")
    _add_quiet(run)
    run.set_defaults(handler=command_run)

    analyze = commands.add_parser("analyze", help="re-check a stored run without re-running it")
    analyze.add_argument("run_dir", help="a run directory, e.g. reports/runs/latest")
    _add_quiet(analyze)
    analyze.set_defaults(handler=command_analyze)

    _add_campaign(commands)
    _add_compare(commands)

    up = commands.add_parser("up", help="start the local topology and keep it until Ctrl-C")
    up.add_argument("--proxy-api-port", type=int, default=8474, help="fault proxy API port")
    up.add_argument("--merchants", type=int, default=2, help="test merchants to seed")
    up.add_argument("--runs-dir", default=str(RUNS_ROOT), help="where the run directory goes")
    up.set_defaults(handler=command_up)

    down = commands.add_parser("down", help="tear down the topology that `paychaos up` keeps")
    down.add_argument("--runs-dir", default=str(RUNS_ROOT), help="the `up` command's runs dir")
    down.set_defaults(handler=command_down)

    bench = commands.add_parser(
        "bench", help="offered-load ladder, pgbench and the capacity model; writes bench.json"
    )
    bench.add_argument("--seed", type=int, default=7, help="seed of the ladder's requests")
    bench.add_argument(
        "--rates",
        type=_rates,
        default=BenchSettings().rates,
        help="offered charges/s per step, comma-separated (default %(default)s)",
    )
    bench.add_argument("--step-s", type=float, default=8.0, help="seconds per step")
    bench.add_argument(
        "--debit-share", type=float, default=0.1, help="refunds and payouts, each, per charge"
    )
    bench.add_argument("--merchants", type=int, default=8, help="merchants the load spreads over")
    bench.add_argument(
        "--api-processes", type=int, help="PAYCHAOS_API_PROCESSES of the API (default: its own)"
    )
    bench.add_argument(
        "--no-direct", action="store_true", help="skip the ladder that bypasses the proxy"
    )
    bench.add_argument(
        "--pgbench-clients", type=_counts, default=(16, 1), help="pgbench -c per run (16,1)"
    )
    bench.add_argument("--pgbench-s", type=float, default=8.0, help="seconds per pgbench run")
    bench.add_argument(
        "--statements", type=int, default=50, help="operations per kind for statement counts"
    )
    bench.add_argument(
        "--baseline-run",
        help="a campaign run directory whose history gives API calls per charge "
        "(default: run the baseline campaign)",
    )
    bench.add_argument("--runs-dir", default=str(RUNS_ROOT), help="where the run directory goes")
    bench.add_argument("--out", help="write bench.json and bench.md into this directory")
    bench.set_defaults(handler=command_bench)

    matrix = commands.add_parser(
        "mutants",
        help="the defect matrix: each defect caught on its scenario, the correct system valid",
    )
    matrix.add_argument("--only", help="comma-separated defects to run (default: all)")
    matrix.add_argument("--runs-dir", default=str(RUNS_ROOT), help="where the matrix goes")
    _add_quiet(matrix)
    matrix.set_defaults(handler=command_mutants)

    proxy = commands.add_parser(
        "proxy", help="run the fault proxy (Toxiproxy API) in the foreground until Ctrl-C"
    )
    proxy.add_argument("--host", default=DEFAULT_HOST, help="API host (default %(default)s)")
    proxy.add_argument(
        "--port", type=_port, default=DEFAULT_PORT, help="API port (default %(default)s)"
    )
    proxy.add_argument("--seed", type=int, help="seed of the toxicity rolls and jitter")
    proxy.set_defaults(handler=command_proxy)
    return top


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `paychaos` console script."""
    arguments = parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if arguments.verbose else logging.WARNING,
        format="%(asctime)s %(name)s %(message)s",
    )
    signal.signal(signal.SIGTERM, _terminate_as_interrupt)
    try:
        return arguments.handler(arguments)
    except (HarnessError, ScenarioError, DeployError) as error:
        print(f"paychaos: error: {error}", file=sys.stderr)
        return EXIT_HARNESS_ERROR
    except KeyboardInterrupt:
        print("paychaos: interrupted; everything started was stopped", file=sys.stderr)
        return EXIT_HARNESS_ERROR
    except Exception as error:
        # A bug of the harness is never a verdict: exit 3, and the traceback only with -v.
        if arguments.verbose:
            traceback.print_exc()
        print(f"paychaos: internal error: {type(error).__name__}: {error}", file=sys.stderr)
        return EXIT_HARNESS_ERROR


if __name__ == "__main__":
    sys.exit(main())
