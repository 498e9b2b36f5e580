"""A campaign end to end: deploy, drive the workload under the nemesis, heal, quiesce, read the
final state, tear down, check the invariants and write the report."""

import asyncio
import datetime
import json
import logging
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import invariants
import reports
from faults.kinds import FaultContext
from faults.nemesis import Nemesis
from faults.toxiproxy_api import ToxiproxyApi, ToxiproxyError
from invariants.model.faults import encode_fault_event
from invariants.model.files import LATEST_LINK
from invariants.model.final_state import FinalState, UncheckedFinalState
from invariants.model.history import encode_event
from invariants.model.provenance import encode_provenance
from scenarios.event_log import EventLog, RunClock
from scenarios.observe.final_reads import read_final_state, unresolved_or_none
from scenarios.provenance import PROJECT_ROOT, collect_provenance
from scenarios.run_files import write_final_state, write_scenario, write_topology_files
from scenarios.scenario import Scenario
from scenarios.workload.client import WorkloadClient
from scenarios.workload.plan import plan_ops
from system_under_test.deploy import new_topology, postgres
from system_under_test.deploy.ports import require_free
from system_under_test.deploy.topology import Endpoints, Topology

log = logging.getLogger("paychaos.campaign")

RUNS_ROOT = PROJECT_ROOT / "reports" / "runs"
QUIESCE_POLL_S = 0.5
# After the workload's duration, how long retries may go on before the run cuts them off
# (ten attempts with backoff take well under a minute; beyond two, something hangs).
WORKLOAD_DRAIN_S_MAX = 120.0


@dataclass(frozen=True)
class CampaignOutcome:
    run_dir: Path
    verdict: str
    exit_code: int
    report: dict


def new_run_dir(runs_root: Path, scenario: str, seed: int) -> Path:
    """A fresh run directory named by time, scenario and seed (and a few random characters)."""
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    run_dir = runs_root / f"{stamp}-{scenario}-s{seed}-{secrets.token_hex(2)}"
    run_dir.mkdir(parents=True)
    return run_dir


def point_latest(runs_root: Path, run_dir: Path) -> None:
    """Make `runs_root/latest` a relative symlink to `run_dir`, replaced atomically."""
    temporary = runs_root / f".latest-{secrets.token_hex(4)}"
    temporary.symlink_to(run_dir.name, target_is_directory=True)
    os.replace(temporary, runs_root / LATEST_LINK)


def _write_json(path: Path, document: object) -> None:
    reports.write_atomic(path, json.dumps(document, indent=2, default=str) + "\n")


async def _wait_quiesced(dsn: str, timeout_s: float, clock: RunClock) -> bool:
    """Wait until no charge, refund or payout is PENDING or PROCESSING, at most `timeout_s`;
    a poll the primary cannot answer yet is retried within that bound."""
    deadline_s = clock.now_s() + timeout_s
    while True:
        if await unresolved_or_none(dsn) == 0:
            return True
        if clock.now_s() >= deadline_s:
            return False
        await asyncio.sleep(QUIESCE_POLL_S)


async def _save_decisions(toxiproxy: ToxiproxyApi, run_dir: Path) -> None:
    """The proxy's toxicity rolls, for replaying and comparing runs of one seed; a proxy
    without the route (a real Toxiproxy) leaves the file out."""
    try:
        decisions = await toxiproxy.decisions()
    except ToxiproxyError as error:
        log.info("no toxicity decisions from the proxy: %s", error)
        return
    _write_json(run_dir / invariants.TOXICITY_DECISIONS_FILE, decisions)


def fault_context(
    toxiproxy: ToxiproxyApi, topology: Topology, *, now_s: Callable[[], float], seed: int = 0
) -> FaultContext:
    """What the fault kinds act through on a started topology: its proxy, links, admin
    endpoints and processes, and the count of unresolved movements on its primary."""
    endpoints = topology.endpoints()
    return FaultContext(
        toxiproxy=toxiproxy,
        links=endpoints.links,
        admin_urls=endpoints.admin_urls,
        processes=topology,
        # The topology's current primary: a failover moves it.
        unresolved_count=lambda: unresolved_or_none(topology.primary_dsn()),
        now_s=now_s,
        seed=seed,
    )


async def drive(
    scenario: Scenario,
    topology: Topology,
    endpoints: Endpoints,
    run_dir: Path,
    clock: RunClock,
) -> FinalState | UncheckedFinalState:
    """The run's live part; returns the final state (also written to final_state.json)."""
    history = EventLog(run_dir / invariants.HISTORY_FILE, clock, encode_event)
    fault_log = EventLog(run_dir / invariants.FAULTS_FILE, clock, encode_fault_event)
    workload = scenario.workload
    plans = plan_ops(workload, scenario=scenario.name, seed=scenario.seed)
    heal_problems: list[str] = []
    cut_off: list[str] = []
    try:
        async with ToxiproxyApi(endpoints.proxy_api) as toxiproxy:
            context = fault_context(toxiproxy, topology, now_s=clock.now_s, seed=scenario.seed)
            nemesis = Nemesis(context, record=fault_log.append)
            clients = [
                WorkloadClient(
                    client=number,
                    api_url=endpoints.api_url,
                    api_keys=[merchant.api_key for merchant in endpoints.merchants],
                    merchants=[merchant.id for merchant in endpoints.merchants],
                    workload=workload,
                    history=history,
                    clock=clock,
                    seed=scenario.seed,
                )
                for number in range(workload.clients)
            ]
            started_at_s = clock.now_s()
            last_fault_s = max((step.at_s for step in scenario.faults), default=0.0)
            phase_s_max = max(workload.duration_s, last_fault_s) + WORKLOAD_DRAIN_S_MAX
            try:
                async with asyncio.timeout(phase_s_max), asyncio.TaskGroup() as group:
                    for client, plan in zip(clients, plans, strict=True):
                        group.create_task(client.run(plan, started_at_s))
                    group.create_task(nemesis.run(list(scenario.faults), started_at_s))
            except TimeoutError:
                # Ops cut off here stay invoked without completion: indeterminate, as they are.
                cut_off.append(f"workload and faults cut off after {phase_s_max:.0f} s")
            finally:
                heal_problems = await nemesis.heal()
                await _save_decisions(toxiproxy, run_dir)
        quiesced = await _wait_quiesced(topology.primary_dsn(), scenario.quiesce_timeout_s, clock)
        final_state = await read_final_state(
            primary_dsn=topology.primary_dsn(),
            network_url=endpoints.network_url,
            read_time_ns=clock.now_ns(),
            quiesced=quiesced,
            problems=(*heal_problems, *cut_off),
        )
    finally:
        history.close()
        fault_log.close()
    write_final_state(run_dir, final_state)
    return final_state


def check_and_report(
    run_dir: Path,
    *,
    run_id: str,
    scenario_name: str,
    seed: int,
    names: list[str],
    provenance: dict,
    duration_s: float,
) -> tuple[str, dict]:
    """Check the run's files as stored (not the in-memory copies) and write every report.

    A run with missing or unreadable files (interrupted, crashed) is checked as far as it
    can be and is never valid; without a history file it raises FileNotFoundError."""
    inputs = invariants.load_partial_run(run_dir)
    results = invariants.check_all(inputs, names)
    report = reports.build_report(
        inputs,
        results,
        run_id=run_id,
        scenario=scenario_name,
        seed=seed,
        provenance=provenance,
        duration_s=duration_s,
    )
    reports.write_report(run_dir, report)
    reports.write_manifest(run_dir, provenance)
    return report["verdict"], report


def run_campaign(
    scenario: Scenario,
    *,
    defects: tuple[str, ...] = (),
    runs_root: Path = RUNS_ROOT,
    proxy_api_port: int = 0,
) -> CampaignOutcome:
    """Run `scenario` on a fresh local topology; the topology is always torn down."""
    bindir = postgres.find_bindir()
    if proxy_api_port:
        # Before the run directory exists: a taken port must leave nothing behind.
        require_free(proxy_api_port, "the fault proxy API")
    run_dir = new_run_dir(runs_root, scenario.name, scenario.seed)
    provenance = collect_provenance(
        scenario=scenario, seed=scenario.seed, defects=list(defects), postgres_bindir=bindir
    )
    write_scenario(run_dir, scenario)
    clock = RunClock()
    topology = new_topology(
        run_dir,
        defects=defects,
        proxy_api_port=proxy_api_port,
        merchant_count=scenario.workload.merchants,
        seed=scenario.seed,
        replication=scenario.replication,
    )
    try:
        endpoints = topology.start()
        # Only a run whose topology came up is the newest run.
        point_latest(runs_root, run_dir)
        write_topology_files(run_dir, endpoints)
        log.info("topology up; driving %s", scenario.name)
        asyncio.run(drive(scenario, topology, endpoints, run_dir, clock))
    finally:
        topology.teardown()
    verdict, report = check_and_report(
        run_dir,
        run_id=run_dir.name,
        scenario_name=scenario.name,
        seed=scenario.seed,
        names=list(scenario.invariants),
        provenance=encode_provenance(provenance),
        duration_s=clock.now_s(),
    )
    return CampaignOutcome(run_dir, verdict, reports.exit_code(verdict), report)
