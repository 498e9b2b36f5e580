"""`paychaos bench` end to end: deploy the local topology, fund the merchants, run the
open-loop ladder through the proxy and then beside it, run pgbench -N on the same primary,
measure the primary's costs per operation and the idempotency keys' size, tear down, count
the baseline workload's API calls per charge, and write bench.json and bench.md.

Every step and wait has a bound; the topology is torn down on errors and on Ctrl-C.
"""

import datetime
import json
import logging
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import reports
from faults.proxy import loop as event_loop
from scenarios.bench import capacity, pgbench, primary_costs, report
from scenarios.bench.ladder import drive_ladders
from scenarios.bench.settings import BenchSettings
from scenarios.bench.workload_calls import calls_per_charge
from scenarios.campaign import new_run_dir, point_latest, run_campaign
from scenarios.provenance import postgres_version, source_provenance
from scenarios.run_files import write_topology_files
from scenarios.scenario import load_scenario
from system_under_test.config import API_PROCESSES_ENV
from system_under_test.deploy import new_topology, postgres
from system_under_test.deploy.topology import Endpoints, Topology

log = logging.getLogger("paychaos.bench")

BENCH_FILE = "bench.json"
REPORT_FILE = "bench.md"
SCHEMA_VERSION = 1
# The goals.
RATIO_GOAL = 0.25
P99_GOAL_MS = 100.0
P99_GOAL_RATE_PER_S = 580.0


@dataclass(frozen=True)
class BenchOutcome:
    run_dir: Path
    bench: dict
    markdown: str


def _provenance(bindir: Path) -> dict:
    return {**source_provenance(), "postgres": postgres_version(bindir)}


def _primary_port(endpoints: Endpoints) -> int:
    return int(endpoints.services["pg-primary"].rpartition(":")[2])


async def _primary_costs(
    endpoints: Endpoints, settings: BenchSettings, bindir: Path, wal_dir: Path
) -> dict:
    costs = {}
    for kind in ("charge", "refund", "payout"):
        costs[kind] = await primary_costs.measure_operations(
            api_url=endpoints.api_url,
            api_key=endpoints.merchants[0].api_key,
            primary_dsn=endpoints.primary_dsn,
            bindir=bindir,
            wal_dir=wal_dir,
            kind=kind,
            count=settings.statement_count,
            tag=f"costs-{kind}",
        )
    return costs


def _measure_live(topology: Topology, settings: BenchSettings, bindir: Path, run_dir: Path) -> dict:
    """Everything measured on the running topology."""
    endpoints = topology.start()
    write_topology_files(run_dir, endpoints)
    log.info("topology up in %s", run_dir)
    ladders = event_loop.run(drive_ladders(endpoints, settings))
    pgbench.initialise(bindir, _primary_port(endpoints))
    pgbench_runs = [
        asdict(
            pgbench.run(
                bindir, _primary_port(endpoints), clients=clients, duration_s=settings.pgbench_s
            )
        )
        for clients in settings.pgbench_clients
    ]
    keys = event_loop.run(primary_costs.idempotency_key_bytes(endpoints.primary_dsn))
    # The worker's polling would be counted with the operations.
    topology.kill("worker")
    wal_dir = (run_dir / "pg" / "primary" / "pg_wal").resolve()
    costs = event_loop.run(_primary_costs(endpoints, settings, bindir, wal_dir))
    return {
        "ladders": ladders,
        "pgbench": pgbench_runs,
        "idempotency_keys": keys,
        "primary_costs": costs,
    }


def _workload_calls(settings: BenchSettings, run_dir: Path) -> dict:
    """API calls per charge of a baseline campaign (run here unless one is given). A failure
    is recorded, not raised: it must not throw away every other figure of the run."""
    try:
        if settings.baseline_run is not None:
            return calls_per_charge(settings.baseline_run)
        log.info("running the baseline campaign for the workload's calls per charge")
        outcome = run_campaign(load_scenario("baseline"), runs_root=run_dir / "baseline")
        return {**calls_per_charge(outcome.run_dir), "baseline_verdict": outcome.verdict}
    except Exception as error:  # recorded in bench.json; Ctrl-C is no Exception
        return {"error": f"{type(error).__name__}: {error}"}


def _goals(ladders: dict[str, list[dict]], pgbench_runs: list[dict]) -> dict:
    proxied = [step for step in ladders["proxied"] if not step.get("skipped")]
    ceiling = max(step["kinds"]["charge"]["achieved_per_s"] for step in proxied)
    tps = max((run["tps"] for run in pgbench_runs), default=None)
    ratio = ceiling / tps if tps else None
    at_goal = [step for step in ladders["proxied"] if step["rate_per_s"] == P99_GOAL_RATE_PER_S]
    p99 = None
    p99_met = None
    if at_goal and at_goal[0].get("skipped"):
        # A lower step saturated the SUT: it cannot meet the goal at this rate.
        p99_met = False
    elif at_goal:
        p99 = at_goal[0]["kinds"]["charge"]["p99_ms"]
        p99_met = p99 is not None and p99 <= P99_GOAL_MS
    return {
        "charges_per_s_ceiling": ceiling,
        "direct_charges_per_s_ceiling": max(
            (
                step["kinds"]["charge"]["achieved_per_s"]
                for step in ladders.get("direct", [])
                if not step.get("skipped")
            ),
            default=None,
        ),
        "pgbench_tps": tps,
        "charges_per_pgbench_tps": ratio,
        "ratio_goal": RATIO_GOAL,
        "ratio_met": None if ratio is None else ratio >= RATIO_GOAL,
        "p99_goal_ms": P99_GOAL_MS,
        "p99_goal_rate_per_s": P99_GOAL_RATE_PER_S,
        "p99_at_goal_rate_ms": p99,
        "p99_met": p99_met,
    }


def _measured(bench: dict) -> capacity.Measured:
    charge = bench["primary_costs"]["charge"]
    calls = bench["workload_calls"]
    keys = bench["idempotency_keys"]["vacuumed"]
    return capacity.Measured(
        statements_per_charge=charge["statements"],
        durable_commits_per_charge=charge["durable_commits"],
        wal_bytes_per_charge=charge["wal_bytes"],
        key_bytes=(keys["table_bytes_per_key"] or 0) + (keys["index_bytes_per_key"] or 0),
        api_calls_per_charge=calls.get("all_calls", 0.0),
        charges_per_s_ceiling=bench["goals"]["charges_per_s_ceiling"],
        pgbench_tps=bench["goals"]["pgbench_tps"] or 0.0,
    )


def run_bench(settings: BenchSettings) -> BenchOutcome:
    """Run the whole bench; the topology is always torn down."""
    bindir = postgres.find_bindir()
    if settings.out is not None:
        run_dir = settings.out
        run_dir.mkdir(parents=True, exist_ok=True)
    else:
        settings.runs_root.mkdir(parents=True, exist_ok=True)
        run_dir = new_run_dir(settings.runs_root, "bench", settings.seed)
        point_latest(settings.runs_root, run_dir)
    started_at = datetime.datetime.now(datetime.UTC).isoformat()
    environment = {}
    if settings.api_processes is not None:
        environment[API_PROCESSES_ENV] = str(settings.api_processes)
    topology = new_topology(
        run_dir,
        merchant_count=settings.merchants,
        service_environment=environment,
        seed=settings.seed,
    )
    try:
        live = _measure_live(topology, settings, bindir, run_dir)
    finally:
        topology.teardown()
    bench = {
        "schema_version": SCHEMA_VERSION,
        "run_id": run_dir.name,
        "seed": settings.seed,
        "started_at": started_at,
        "provenance": _provenance(bindir),
        "settings": {
            "rates": list(settings.rates),
            "step_s": settings.step_s,
            "debit_share": settings.debit_share,
            "merchants": settings.merchants,
            "api_processes": settings.api_processes or "default",
            "pgbench_clients": list(settings.pgbench_clients),
            "pgbench_s": settings.pgbench_s,
            "statement_count": settings.statement_count,
            "cpu_count": os.cpu_count(),
        },
        **live,
        "workload_calls": _workload_calls(settings, run_dir),
    }
    bench["goals"] = _goals(bench["ladders"], bench["pgbench"])
    measured = _measured(bench)
    bench["capacity_model"] = asdict(measured)
    text = report.markdown(bench, capacity.markdown(measured))
    reports.write_atomic(run_dir / BENCH_FILE, json.dumps(bench, indent=2) + "\n")
    reports.write_atomic(run_dir / REPORT_FILE, text)
    return BenchOutcome(run_dir, bench, text)
