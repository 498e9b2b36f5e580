"""The `paychaos` command: each subcommand's handler runs its owner and prints the outcome;
the command line itself is scenarios/cli_parser.py.

Exit codes: 0 valid, 1 invalid, 2 unknown, 3 harness error (bad input, deployment failure,
interrupted); `compare`: 0 same verdict, 1 verdicts differ, 3 unreadable run.
"""

import argparse
import dataclasses
import functools
import logging
import signal
import sys
import time
import traceback
from pathlib import Path

import invariants
import reports
from faults.proxy import CannotListen, serve_until_stopped
from reports import EXIT_HARNESS_ERROR
from reports import compare as comparing
from reports.campaign_report import CAMPAIGN_FILE, render_campaign_md
from scenarios import mutants, supervise, sweep
from scenarios.analyze import analyze_run
from scenarios.bench import BenchError, BenchSettings, run_bench
from scenarios.campaign import run_campaign
from scenarios.cli_parser import parser
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
    defects = _defects()
    run_dir = supervise.new_up_run(runs_root, proxy_api_port=arguments.proxy_api_port)
    topology = new_topology(
        run_dir,
        defects=defects,
        proxy_api_port=arguments.proxy_api_port,
        merchant_count=arguments.merchants,
    )
    with supervise.kept_up(topology, run_dir, runs_root) as endpoints_file:
        endpoints = topology.endpoints()
        print(f"topology up: {endpoints_file}")
        print(f"api: {endpoints.api_url}  proxy API: {endpoints.proxy_api}")
        print("Ctrl-C or `paychaos down` to tear it down", flush=True)
        supervise.wait_for_stop()
    # Only a topology that came up is said to go down; a failed start is an error line.
    print("topology down")
    return 0


def command_down(arguments: argparse.Namespace) -> int:
    print(supervise.take_down(Path(arguments.runs_dir)))
    return 0


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


def command_bench(arguments: argparse.Namespace) -> int:
    """Run the open-loop ladder, pgbench and the capacity model; print the Markdown report."""
    # The bench flags are named as the settings' fields (see _add_bench).
    fields = {field.name for field in dataclasses.fields(BenchSettings)}
    try:
        settings = BenchSettings(
            **{name: value for name, value in vars(arguments).items() if name in fields}
        )
        outcome = run_bench(settings)
    except BenchError as error:
        raise HarnessError(str(error)) from None
    print(outcome.markdown)
    print(f"bench: {outcome.run_dir / 'bench.json'}")
    return 0


HANDLERS = {
    "run": command_run,
    "analyze": command_analyze,
    "campaign": command_campaign,
    "compare": command_compare,
    "up": command_up,
    "down": command_down,
    "bench": command_bench,
    "mutants": command_mutants,
    "proxy": command_proxy,
}


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `paychaos` console script."""
    arguments = parser().parse_args(argv)
    handler = HANDLERS[arguments.command]
    logging.basicConfig(
        level=logging.INFO if arguments.verbose else logging.WARNING,
        format="%(asctime)s %(name)s %(message)s",
    )
    signal.signal(signal.SIGTERM, _terminate_as_interrupt)
    try:
        return handler(arguments)
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
