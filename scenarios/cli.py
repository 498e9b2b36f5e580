"""The `paychaos` command: run a campaign, keep a topology up, re-check a stored run.

Exit codes: 0 valid, 1 invalid, 2 unknown, 3 harness error (bad input, deployment failure).
"""

import argparse
import json
import logging
import os
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
from scenarios import mutants
from scenarios.bench import BenchError, BenchSettings, run_bench
from scenarios.campaign import RUNS_ROOT, check_and_report, new_run_dir, point_latest, run_campaign
from scenarios.scenario import ScenarioError, load_scenario
from system_under_test.defects import UnknownDefectError, defects_from_environment
from system_under_test.deploy.errors import DeployError
from system_under_test.deploy.local import LocalTopology

EXIT_HARNESS_ERROR = 3
UP_STATE_FILE_NAME = "up.json"
# `paychaos down` waits this long for the `up` process to tear its topology down.
DOWN_TIMEOUT_S = 60.0


class HarnessError(RuntimeError):
    """A problem the user can fix; printed as one line, exit 3."""


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
    _print_summary(outcome.report)
    print(f"verdict: {outcome.verdict}")
    print(f"report: {outcome.run_dir / 'report.json'}")
    print(f"summary: {outcome.run_dir / 'summary.md'}")
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
    if not run_dir.is_dir():
        raise HarnessError(f"no run directory at {run_dir}")
    try:
        # What ran is in scenario.json, written before the run started.
        scenario = json.loads((run_dir / "scenario.json").read_text())
    except (OSError, ValueError) as error:
        raise HarnessError(
            f"cannot analyze {run_dir}: no readable scenario.json ({error})"
        ) from None
    try:
        previous = json.loads((run_dir / reports.REPORT_FILE).read_text())
    except (OSError, ValueError):
        previous = {}
    provenance = previous.get("provenance", {})
    duration_s = float(previous.get("stats", {}).get("duration_s", 0.0))
    try:
        verdict, report = check_and_report(
            run_dir,
            run_id=run_dir.resolve().name,
            scenario_name=scenario["name"],
            seed=scenario["seed"],
            names=list(scenario["invariants"]),
            provenance=provenance,
            duration_s=duration_s,
        )
    except (OSError, invariants.RunFileError) as error:
        raise HarnessError(f"cannot analyze {run_dir}: {error}") from None
    print(f"verdict: {verdict}")
    for gap in report.get("gaps", []):
        print(f"incomplete run: {gap}")
    print(f"report: {run_dir / 'report.json'}")
    return reports.exit_code(verdict)


def command_up(arguments: argparse.Namespace) -> int:
    runs_root = Path(arguments.runs_dir)
    state_file = runs_root / UP_STATE_FILE_NAME
    if state_file.exists():
        state = json.loads(state_file.read_text())
        if _alive(state["pid"]):
            raise HarnessError(f"a topology is already up (pid {state['pid']}); `paychaos down`")
    runs_root.mkdir(parents=True, exist_ok=True)
    run_dir = new_run_dir(runs_root, "up", 0)
    point_latest(runs_root, run_dir)
    topology = LocalTopology(
        run_dir,
        defects=_defects(),
        proxy_api_port=arguments.proxy_api_port,
        merchant_count=arguments.merchants,
    )
    try:
        endpoints = topology.start()
        reports.write_atomic(state_file, json.dumps({"pid": os.getpid(), "run_dir": str(run_dir)}))
        print(f"topology up: {run_dir / 'endpoints.json'}")
        print(f"api: {endpoints.api_url}  proxy API: {endpoints.proxy_api}")
        print("Ctrl-C or `paychaos down` to tear it down", flush=True)
        try:
            while True:
                signal.pause()
        except KeyboardInterrupt:
            pass
    finally:
        topology.teardown()
        state_file.unlink(missing_ok=True)
        print("topology down")
    return 0


def _alive(pid: int) -> bool:
    """Whether `pid` runs; an exited process that its parent has not reaped yet does not."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    # The state letter follows the parenthesised command name; Z is a zombie.
    return stat.rpartition(")")[2].split()[0] != "Z"


def command_down(arguments: argparse.Namespace) -> int:
    state_file = Path(arguments.runs_dir) / UP_STATE_FILE_NAME
    if not state_file.exists():
        raise HarnessError(f"no topology is up (no {state_file})")
    pid = json.loads(state_file.read_text())["pid"]
    if not _alive(pid):
        state_file.unlink(missing_ok=True)
        print(f"the `up` process {pid} is gone; nothing to tear down")
        return 0
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + DOWN_TIMEOUT_S
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    if _alive(pid):
        raise HarnessError(f"`up` process {pid} did not stop in {DOWN_TIMEOUT_S:.0f} s")
    print("topology down")
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
        matrix_dir, rows = mutants.run_matrix(
            chosen, Path(arguments.runs_dir), progress=lambda line: print(line, flush=True)
        )
    except mutants.MatrixError as error:
        raise HarnessError(str(error)) from None
    table = mutants.markdown(rows)
    reports.write_atomic(matrix_dir / "mutants.md", table)
    print(table)
    print(f"matrix: {matrix_dir / mutants.MATRIX_FILE}")
    return 0 if all(row.passed for row in rows) else 1


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


def parser() -> argparse.ArgumentParser:
    top = _ArgumentParser(prog="paychaos", description=__doc__)
    top.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    commands = top.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="run a campaign and write its report")
    run.add_argument("scenario", nargs="?", default="baseline", help="bundled name or YAML path")
    run.add_argument("--seed", type=int, help="override the scenario's seed")
    run.add_argument("--proxy-api-port", type=int, default=0, help="fault proxy API port")
    run.add_argument("--runs-dir", default=str(RUNS_ROOT), help="where run directories go")
    run.set_defaults(handler=command_run)

    analyze = commands.add_parser("analyze", help="re-check a stored run without re-running it")
    analyze.add_argument("run_dir", help="a run directory, e.g. reports/runs/latest")
    analyze.set_defaults(handler=command_analyze)

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
