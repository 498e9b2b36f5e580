"""bench.json's figures as Markdown (pure): the ladders, pgbench, the goals, the primary's
costs per operation and the capacity model."""

from collections.abc import Iterable, Iterator

from scenarios.bench.schedule import KINDS

LADDER_TITLES = {
    "proxied": "every link through the fault proxy",
    "direct": "the workload's link to the API bypassed (the API's own address)",
}


def _cell(value: object, unit: str = "") -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.1f}{unit}"
    return f"{value}{unit}"


def _errors(errors: dict[str, int]) -> str:
    return ", ".join(f"{name} {count}" for name, count in errors.items()) or "0"


def _table(header: str, alignment: str, rows: Iterable[str]) -> str:
    """A Markdown table: its header line, its alignment line, then one line per row."""
    return "\n".join([header, alignment, *rows]) + "\n"


def _ladder_rows(steps: list[dict]) -> Iterator[str]:
    for step in steps:
        if step.get("skipped"):
            yield (
                f"| {step['rate_per_s']:g} | all | - | - | - | - | - | - "
                "| skipped: a lower step saturated the SUT |"
            )
            continue
        for kind in KINDS:
            figures = step["kinds"][kind]
            offered_per_s = figures["offered"] / step["duration_s"]
            yield (
                f"| {step['rate_per_s']:g} | {kind} | {offered_per_s:,.1f} "
                f"| {_cell(figures['achieved_per_s'])} | {_cell(figures['p50_ms'])} "
                f"| {_cell(figures['p95_ms'])} | {_cell(figures['p99_ms'])} "
                f"| {_cell(figures['max_ms'])} | {_errors(figures['errors'])} |"
            )


def ladder_table(steps: list[dict]) -> str:
    """One row per step and kind: offered and achieved per second, latency, errors."""
    return _table(
        "| offered charges/s | kind | offered/s | achieved/s | p50 ms | p95 ms | p99 ms "
        "| max ms | errors |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---|",
        _ladder_rows(steps),
    )


CPU_COLUMNS = ("api", "network", "proxy", "postgres", "replication", "worker", "driver")


def cpu_table(steps: list[dict]) -> str:
    """Per step: the machine's busy share, and each service's CPU in % of one core."""
    measured = [(step["rate_per_s"], step["cpu"]) for step in steps if step.get("cpu")]
    return _table(
        "| offered charges/s | machine busy % | " + " | ".join(CPU_COLUMNS) + " |",
        "|---:|---:|" + "---:|" * len(CPU_COLUMNS),
        (
            f"| {rate:g} | {_cell(shares.get('machine_busy'))} | "
            + " | ".join(_cell(shares.get(name)) for name in CPU_COLUMNS)
            + " |"
            for rate, shares in measured
        ),
    )


def _pgbench_table(runs: list[dict]) -> str:
    return _table(
        "| clients | tps | latency average ms |",
        "|---:|---:|---:|",
        (
            f"| {run['clients']} | {run['tps']:,.0f} | {run['latency_average_ms']:.2f} |"
            for run in runs
        ),
    )


def _goals_table(goals: dict) -> str:
    def met(value: bool | None) -> str:
        return {True: "yes", False: "**no**", None: "not measured"}[value]

    ratio = goals["charges_per_pgbench_tps"]
    return _table(
        "| goal | measured | met |",
        "|---|---|---|",
        [
            f"| SUT charges/s >= {goals['ratio_goal']} x pgbench -N tps "
            f"| {_cell(goals['charges_per_s_ceiling'])} / {_cell(goals['pgbench_tps'])} "
            f"= {'-' if ratio is None else f'{ratio:.3f}'} "
            f"| {met(goals['ratio_met'])} |",
            f"| p99 <= {goals['p99_goal_ms']:g} ms at {goals['p99_goal_rate_per_s']:g} "
            f"charges/s offered | {_cell(goals['p99_at_goal_rate_ms'], ' ms')} "
            f"| {met(goals['p99_met'])} |",
        ],
    )


def _costs_table(costs: dict) -> str:
    return _table(
        "| operation | statements | durable commits | BEGIN | COMMIT | ROLLBACK | WAL bytes |",
        "|---|---:|---:|---:|---:|---:|---:|",
        (
            f"| {kind} | {figures['statements']:.1f} | {figures['durable_commits']:.1f} "
            f"| {figures['begins']:.1f} | {figures['explicit_commits']:.1f} "
            f"| {figures['rollbacks']:.1f} | {figures['wal_bytes']:,.0f} |"
            for kind, figures in costs.items()
        ),
    )


def _keys_table(keys: dict) -> str:
    return _table(
        "| idempotency_keys | keys | heap+TOAST bytes/key | index bytes/key | row bytes "
        "| response bytes |",
        "|---|---:|---:|---:|---:|---:|",
        (
            f"| {state.replace('_', ' ')} | {figures['keys']:,} "
            f"| {_cell(figures['table_bytes_per_key'])} | {_cell(figures['index_bytes_per_key'])} "
            f"| {figures['row_bytes_average']:,.0f} | {figures['response_bytes_average']:,.0f} |"
            for state, figures in keys.items()
        ),
    )


def _calls_text(calls: dict) -> str:
    if "error" in calls:
        return f"Not measured: {calls['error']}\n"
    return (
        f"From {calls['run_dir']}: {calls['charge_keys']} charge keys; "
        f"{calls['charge_attempts_per_key']:.2f} attempts per charge key, "
        f"{calls['charge_key_calls']:.2f} calls per charge with its read-back, "
        f"{calls['all_calls']:.2f} calls of the whole workload per charge "
        f"({', '.join(f'{f} {n}' for f, n in calls['calls_by_function'].items())}).\n"
    )


def markdown(bench: dict, capacity_table: str) -> str:
    """The whole report."""
    settings = bench["settings"]
    parts = [
        f"# paychaos bench {bench['run_id']}\n",
        f"Seed {bench['seed']}; {settings['api_processes']} API process(es); "
        f"{settings['cpu_count']} CPUs; steps of {settings['step_s']:g} s, open loop "
        f"(Poisson arrivals, latency from each request's due time); refunds and payouts each "
        f"at {settings['debit_share']:g} of the charge rate; commit "
        f"{bench['provenance']['git_commit'][:12]}"
        f"{' (dirty)' if bench['provenance'].get('git_dirty') else ''}.\n",
        "## Goals\n",
        _goals_table(bench["goals"]),
    ]
    for name, steps in bench["ladders"].items():
        parts += [
            f"## Ladder: {LADDER_TITLES[name]}\n",
            ladder_table(steps),
            "CPU during each step, in % of one core (machine busy: % of all CPUs):\n",
            cpu_table(steps),
        ]
    parts += [
        "## pgbench -N on the same primary (its own database)\n",
        _pgbench_table(bench["pgbench"]),
        "## Primary costs per operation (sequential, worker stopped)\n",
        _costs_table(bench["primary_costs"]),
        "## Idempotency keys on disk\n",
        _keys_table(bench["idempotency_keys"]),
        "## API calls per charge in the baseline workload\n",
        _calls_text(bench["workload_calls"]),
        "## Capacity model: the seed's figures beside the measured ones\n",
        capacity_table,
    ]
    return "\n".join(parts)
