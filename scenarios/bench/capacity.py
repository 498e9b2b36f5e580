"""The seed's capacity model, recomputed from measurements (pure): for 10M and 100M charges a
day, what the primary, the API and the idempotency store must carry, beside the seed's own
figures."""

import math
from dataclasses import dataclass

SECONDS_PER_DAY = 86_400
# The seed's rates per daily volume, as it states them: (average, peak) charges/s; its peak
# is five times the day's average. Every "at peak" figure below uses the seed's peak.
SEED_RATES = {10_000_000: (116, 580), 100_000_000: (1_160, 5_800)}
DAILY_CHARGES = tuple(SEED_RATES)
# The seed's figures: ~7 primary operations per charge (key insert, charge insert, balance
# read FOR UPDATE, two state updates, balance update, key response update), ~1 KB per
# idempotency key, kept 24 h.
SEED_OPERATIONS_PER_CHARGE = 7
SEED_KEY_BYTES = 1_000
KEY_RETENTION_S = SECONDS_PER_DAY


@dataclass(frozen=True)
class Measured:
    """The figures the model is recomputed from, each measured in the bench's run."""

    statements_per_charge: float
    durable_commits_per_charge: float
    wal_bytes_per_charge: float
    # Heap (with TOAST) plus index bytes per key, after VACUUM.
    key_bytes: float
    # Calls to the API per charge in the baseline workload (its retries and read-backs).
    api_calls_per_charge: float
    # The highest charges/s the SUT answered on this machine, and pgbench -N's tps.
    charges_per_s_ceiling: float
    pgbench_tps: float


def _rates(daily: int) -> tuple[float, float]:
    return SEED_RATES[daily]


def rows(measured: Measured) -> list[tuple[str, list[str]]]:
    """The table's rows: a quantity, then seed and measured for each daily volume."""
    table: list[tuple[str, list[str]]] = []

    def add(name: str, seed, value) -> None:
        cells = []
        for daily in DAILY_CHARGES:
            cells += [seed(daily), value(daily)]
        table.append((name, cells))

    def same(formatter):
        return formatter, formatter

    add(
        "charges/s, average",
        lambda daily: f"{_rates(daily)[0]:,}",
        lambda daily: f"{daily / SECONDS_PER_DAY:,.1f}",
    )
    add("charges/s, peak (the seed's, 5x average)", *same(lambda daily: f"{_rates(daily)[1]:,}"))
    add(
        "primary statements per charge",
        lambda daily: f"~{SEED_OPERATIONS_PER_CHARGE}",
        lambda daily: f"{measured.statements_per_charge:.1f}",
    )
    add(
        "primary statements/s at peak",
        lambda daily: f"{SEED_OPERATIONS_PER_CHARGE * _rates(daily)[1]:,.0f}",
        lambda daily: f"{measured.statements_per_charge * _rates(daily)[1]:,.0f}",
    )
    add(
        "durable commits per charge",
        lambda daily: "-",
        lambda daily: f"{measured.durable_commits_per_charge:.1f}",
    )
    add(
        "durable commits/s at peak",
        lambda daily: "-",
        lambda daily: f"{measured.durable_commits_per_charge * _rates(daily)[1]:,.0f}",
    )
    add(
        "peak commits/s over pgbench -N tps here",
        lambda daily: "-",
        lambda daily: _ratio(
            measured.durable_commits_per_charge * _rates(daily)[1], measured.pgbench_tps
        ),
    )
    add(
        "WAL per day",
        lambda daily: "-",
        lambda daily: _bytes(measured.wal_bytes_per_charge * daily),
    )
    add(
        "API calls per charge (workload)",
        lambda daily: "1",
        lambda daily: f"{measured.api_calls_per_charge:.2f}",
    )
    add(
        "API requests/s at peak",
        lambda daily: f"{_rates(daily)[1]:,.0f}",
        lambda daily: f"{measured.api_calls_per_charge * _rates(daily)[1]:,.0f}",
    )
    add(
        "idempotency bytes per key",
        lambda daily: f"~{_bytes(SEED_KEY_BYTES)}",
        lambda daily: _bytes(measured.key_bytes),
    )
    add(
        "idempotency store at a 24 h TTL",
        lambda daily: _bytes(SEED_KEY_BYTES * daily * KEY_RETENTION_S / SECONDS_PER_DAY),
        lambda daily: _bytes(measured.key_bytes * daily * KEY_RETENTION_S / SECONDS_PER_DAY),
    )
    add(
        "peak over this machine's SUT ceiling",
        lambda daily: "-",
        lambda daily: f"{_ratio(_rates(daily)[1], measured.charges_per_s_ceiling)}",
    )
    return table


def markdown(measured: Measured) -> str:
    """The model as a Markdown table.

    >>> m = Measured(10, 3, 2000, 1500, 3.2, 600, 2000)
    >>> "| primary statements per charge | ~7 | 10.0 | ~7 | 10.0 |" in markdown(m)
    True
    """
    volumes = [f"{daily // 1_000_000}M/day" for daily in DAILY_CHARGES]
    header = "| quantity | " + " | ".join(
        f"{volume} seed | {volume} measured" for volume in volumes
    )
    lines = [header + " |", "|---" * (1 + 2 * len(DAILY_CHARGES)) + "|"]
    lines += [f"| {name} | " + " | ".join(cells) + " |" for name, cells in rows(measured)]
    return "\n".join(lines) + "\n"


def _ratio(numerator: float, denominator: float) -> str:
    if denominator <= 0:
        return "-"
    return f"{numerator / denominator:.2f}x"


def _bytes(count: float) -> str:
    """A byte count with a decimal unit.

    >>> _bytes(1_000), _bytes(100e9), _bytes(1536)
    ('1.0 KB', '100.0 GB', '1.5 KB')
    """
    units = ("B", "KB", "MB", "GB", "TB", "PB")
    exponent = 0 if count < 1 else min(len(units) - 1, int(math.log10(count) // 3))
    return f"{count / 1000**exponent:.1f} {units[exponent]}"
