"""What a `paychaos bench` run is asked to do, validated at construction."""

from dataclasses import dataclass
from pathlib import Path

from scenarios.bench.errors import BenchError
from scenarios.campaign import RUNS_ROOT

# The seed's 10M/day peak is 580/s; the ladder climbs past it to find the ceiling.
DEFAULT_RATES = (25.0, 50.0, 100.0, 200.0, 300.0, 400.0, 580.0, 800.0)


@dataclass(frozen=True, kw_only=True)
class BenchSettings:
    seed: int = 7
    rates: tuple[float, ...] = DEFAULT_RATES
    step_s: float = 8.0
    # Refunds and payouts, each, as a share of the charge rate.
    debit_share: float = 0.1
    merchants: int = 8
    # PAYCHAOS_API_PROCESSES for the API; None leaves the SUT's default.
    api_processes: int | None = None
    direct: bool = True
    pgbench_clients: tuple[int, ...] = (16, 1)
    pgbench_s: float = 8.0
    statement_count: int = 50
    # A campaign run whose history gives the API calls per charge; None runs the baseline.
    baseline_run: Path | None = None
    runs_root: Path = RUNS_ROOT
    out: Path | None = None
    warm_up: bool = True

    def __post_init__(self) -> None:
        problems = []
        if not self.rates or any(rate <= 0 for rate in self.rates):
            problems.append(f"rates {self.rates} must be positive")
        if self.step_s <= 0 or self.pgbench_s < 1:
            problems.append("step_s must be positive and pgbench_s at least 1")
        if not 0 <= self.debit_share <= 1:
            problems.append(f"debit_share {self.debit_share} must be in [0, 1]")
        if self.merchants < 1 or self.statement_count < 1:
            problems.append("merchants and statement_count must be at least 1")
        if any(clients < 1 for clients in self.pgbench_clients):
            problems.append(f"pgbench clients {self.pgbench_clients} must be at least 1")
        if problems:
            raise BenchError("; ".join(problems))
