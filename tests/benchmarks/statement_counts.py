"""Statements, durable commits and WAL on the primary per successful charge, refund and payout.

    .venv/bin/python -m tests.benchmarks.statement_counts [--count N] [--detail]

Starts a local topology, stops its worker (whose polling would be counted too), funds the
merchant, then measures N sequential operations of each kind, each kind after one warm-up, with
the same code `paychaos bench` uses (scenarios/bench/primary_costs.py): statements from
pg_stat_statements, durable commits from the WAL itself (pg_waldump), WAL bytes from the WAL
positions. Prints a Markdown table beside the seed's model (~7 primary operations per charge).
"""

import argparse
import asyncio
import tempfile
from pathlib import Path

from scenarios.bench.capacity import SEED_OPERATIONS_PER_CHARGE
from scenarios.bench.primary_costs import measure_operations
from system_under_test.deploy import postgres
from system_under_test.deploy.local import LocalTopology
from tests.integration.sut import Sut

FUNDING_AMOUNT = 1_000_000


async def _measure(sut: Sut, run_dir: Path, count: int) -> dict[str, dict]:
    endpoints = sut.endpoints
    wal_dir = (run_dir / "pg" / "primary" / "pg_wal").resolve()
    return {
        kind: await measure_operations(
            api_url=endpoints.api_url,
            api_key=endpoints.merchants[0].api_key,
            primary_dsn=endpoints.primary_dsn,
            bindir=postgres.find_bindir(),
            wal_dir=wal_dir,
            kind=kind,
            count=count,
            tag=f"measured-{kind}",
        )
        for kind in ("charge", "refund", "payout")
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=50, help="operations of each kind")
    parser.add_argument("--detail", action="store_true", help="list each statement's calls")
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="paychaos-statements-") as directory:
        run_dir = Path(directory)
        with LocalTopology(run_dir, merchant_count=1) as topology:
            topology.kill("worker")
            sut = Sut(topology.endpoints())
            sut.charge(FUNDING_AMOUNT, key="funding")
            rows = asyncio.run(_measure(sut, run_dir, arguments.count))
    print(f"Primary costs per successful operation ({arguments.count} of each, sequential):\n")
    print("| operation | statements | durable commits | BEGIN | ROLLBACK | WAL bytes | seed |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for kind, counts in rows.items():
        seed = f"~{SEED_OPERATIONS_PER_CHARGE}" if kind == "charge" else ""
        print(
            f"| {kind} | {counts['statements']:.1f} | {counts['durable_commits']:.1f} | "
            f"{counts['begins']:.1f} | {counts['rollbacks']:.1f} | {counts['wal_bytes']:,.0f} "
            f"| {seed} |"
        )
    if arguments.detail:
        for kind, counts in rows.items():
            print(f"\n{kind}, per operation:\n")
            for row in counts["detail"]:
                print(f"- {row['per_operation']:.1f} x {row['query']}")


if __name__ == "__main__":
    main()
