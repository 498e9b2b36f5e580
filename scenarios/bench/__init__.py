"""`paychaos bench`: an open-loop offered-load ladder against the live local topology, beside
pgbench -N on the same primary and the SUT with the proxy bypassed; the primary's costs per
operation; and the seed's capacity model recomputed from those measurements."""

from scenarios.bench.errors import BenchError
from scenarios.bench.run import BENCH_FILE, REPORT_FILE, BenchOutcome, run_bench
from scenarios.bench.settings import DEFAULT_RATES, BenchSettings

__all__ = [
    "BENCH_FILE",
    "DEFAULT_RATES",
    "REPORT_FILE",
    "BenchError",
    "BenchOutcome",
    "BenchSettings",
    "run_bench",
]
