"""Statements and commits on the primary per successful charge, refund and payout.

    .venv/bin/python -m tests.benchmarks.statement_counts [--count N]

Starts a local topology, stops its worker (whose polling would be counted too), warms each
path once, then runs N sequential operations of each kind and reads pg_stat_statements on the
primary before and after. Prints a Markdown table beside the seed's model (~7 primary
operations per charge).
"""

import argparse
import tempfile
from pathlib import Path

from system_under_test.deploy.local import LocalTopology
from tests.integration.sut import Sut

# The seed's capacity model: key insert, charge insert, balance read FOR UPDATE, two state
# updates, balance update, key response update.
SEED_OPERATIONS_PER_CHARGE = 7
# Every statement of this measurement itself mentions the view; those are left out.
COUNTS_QUERY = """
SELECT coalesce(sum(calls), 0)::bigint AS statements,
       coalesce(sum(calls) FILTER (WHERE query ILIKE 'commit%'), 0)::bigint AS commits,
       coalesce(sum(calls) FILTER (WHERE query ILIKE 'begin%'), 0)::bigint AS begins,
       coalesce(sum(calls) FILTER (WHERE query ILIKE 'rollback%'), 0)::bigint AS rollbacks
FROM pg_stat_statements WHERE query NOT ILIKE '%pg_stat_statements%'
"""

DETAIL_QUERY = """
SELECT round(calls::numeric / $1, 2)::float AS per_operation,
       left(regexp_replace(query, '\\s+', ' ', 'g'), 110) AS query
FROM pg_stat_statements WHERE query NOT ILIKE '%pg_stat_statements%'
ORDER BY calls DESC, query
"""


def _funded_charges(sut: Sut, count: int, tag: str) -> list[dict]:
    return [sut.charge(500, key=f"{tag}-funding-{number}") for number in range(count)]


def _operations(sut: Sut, kind: str, count: int, tag: str, charges: list[dict]) -> None:
    for number in range(count):
        key = f"{tag}-{kind}-{number}"
        if kind == "charge":
            sut.charge(500, key=key)
            continue
        if kind == "refund":
            form = {"charge": charges[number]["id"], "amount": "200"}
        else:
            form = {"amount": "100", "currency": "usd"}
        answer = sut.post(kind, form, key=key)
        assert answer.status == 200 and answer.body["status"] in ("succeeded", "paid"), answer


def measure(sut: Sut, kind: str, count: int) -> dict[str, float]:
    """Per-operation statement counts of `count` sequential operations of `kind`."""
    # The charges that refunds refund are made before the counters are reset.
    charges = _funded_charges(sut, count, f"measured-{kind}") if kind == "refund" else []
    sut.sql("SELECT pg_stat_statements_reset()")
    _operations(sut, kind, count, "measured", charges)
    totals = sut.sql(COUNTS_QUERY)[0]
    return {name: value / count for name, value in totals.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=50, help="operations of each kind")
    parser.add_argument("--detail", action="store_true", help="list each statement's calls")
    arguments = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="paychaos-statements-") as run_dir,
        LocalTopology(Path(run_dir), merchant_count=1) as topology,
    ):
        topology.kill("worker")
        sut = Sut(topology.endpoints())
        sut.sql("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        sut.charge(100_000, key="warm-up-funding")
        _operations(sut, "refund", 1, "warm-up", _funded_charges(sut, 1, "warm-up"))
        _operations(sut, "payout", 1, "warm-up", [])
        rows, details = {}, {}
        for kind in ("charge", "refund", "payout"):
            rows[kind] = measure(sut, kind, arguments.count)
            details[kind] = sut.sql(DETAIL_QUERY, arguments.count)
    print(f"Primary statements per successful operation ({arguments.count} of each, sequential):\n")
    print("| operation | statements | commits | begins | rollbacks | seed's model |")
    print("| --- | --- | --- | --- | --- | --- |")
    for kind, counts in rows.items():
        seed = f"~{SEED_OPERATIONS_PER_CHARGE}" if kind == "charge" else ""
        print(
            f"| {kind} | {counts['statements']:.1f} | {counts['commits']:.1f} | "
            f"{counts['begins']:.1f} | {counts['rollbacks']:.1f} | {seed} |"
        )
    if arguments.detail:
        for kind, statements in details.items():
            print(f"\n{kind}, per operation:\n")
            for row in statements:
                print(f"- {row['per_operation']:.1f} x {row['query']}")


if __name__ == "__main__":
    main()
