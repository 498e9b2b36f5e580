"""The seed's capacity model, recomputed from measurements (pure): for 10M and 100M charges a
day, what the primary, the API and the idempotency store must carry, beside the seed's own
figures."""

import math
from collections.abc import Callable
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


# One quantity for one daily volume: the seed's figure (None where the seed states none) and
# the one recomputed from measurements (None where there is nothing to divide by).
Figures = tuple[float | None, float | None]
Format = Callable[[float], str]


def _ratio(numerator: float, denominator: float) -> float | None:
    if denominator <= 0:
        return None
    return numerator / denominator


def figures(measured: Measured, daily: int) -> dict[str, Figures]:
    """The model's quantities for `daily` charges a day, unformatted, in the table's order.

    >>> m = Measured(10, 3, 2000, 1500, 3.2, 600, 2000)
    >>> figures(m, 10_000_000)["primary statements/s at peak"]
    (4060, 5800)
    """
    average, peak = SEED_RATES[daily]
    peak_commits = measured.durable_commits_per_charge * peak
    keys_held = daily * KEY_RETENTION_S / SECONDS_PER_DAY
    return {
        "charges/s, average": (average, daily / SECONDS_PER_DAY),
        "charges/s, peak (the seed's, 5x average)": (peak, peak),
        "primary statements per charge": (
            SEED_OPERATIONS_PER_CHARGE,
            measured.statements_per_charge,
        ),
        "primary statements/s at peak": (
            SEED_OPERATIONS_PER_CHARGE * peak,
            measured.statements_per_charge * peak,
        ),
        "durable commits per charge": (None, measured.durable_commits_per_charge),
        "durable commits/s at peak": (None, peak_commits),
        "peak commits/s over pgbench -N tps here": (
            None,
            _ratio(peak_commits, measured.pgbench_tps),
        ),
        "WAL per day": (None, measured.wal_bytes_per_charge * daily),
        "API calls per charge (workload)": (1, measured.api_calls_per_charge),
        "API requests/s at peak": (peak, measured.api_calls_per_charge * peak),
        "idempotency bytes per key": (SEED_KEY_BYTES, measured.key_bytes),
        "idempotency store at a 24 h TTL": (
            SEED_KEY_BYTES * keys_held,
            measured.key_bytes * keys_held,
        ),
        "peak over this machine's SUT ceiling": (
            None,
            _ratio(peak, measured.charges_per_s_ceiling),
        ),
    }


def _bytes(count: float) -> str:
    """A byte count with a decimal unit.

    >>> _bytes(1_000), _bytes(100e9), _bytes(1536)
    ('1.0 KB', '100.0 GB', '1.5 KB')
    """
    units = ("B", "KB", "MB", "GB", "TB", "PB")
    exponent = 0 if count < 1 else min(len(units) - 1, int(math.log10(count) // 3))
    return f"{count / 1000**exponent:.1f} {units[exponent]}"


def _number(spec: str, *, prefix: str = "") -> Format:
    return lambda value: f"{prefix}{value:{spec}}"


COUNT = _number(",.0f")


def _ratio_text(ratio: float) -> str:
    return f"{ratio:.2f}x"


# How each quantity reads: (the seed's format, the measured format); a missing figure is "-".
FORMATS: dict[str, tuple[Format, Format]] = {
    "charges/s, average": (COUNT, _number(",.1f")),
    "charges/s, peak (the seed's, 5x average)": (COUNT, COUNT),
    "primary statements per charge": (_number(",.0f", prefix="~"), _number(".1f")),
    "primary statements/s at peak": (COUNT, COUNT),
    "durable commits per charge": (COUNT, _number(".1f")),
    "durable commits/s at peak": (COUNT, COUNT),
    "peak commits/s over pgbench -N tps here": (COUNT, _ratio_text),
    "WAL per day": (COUNT, _bytes),
    "API calls per charge (workload)": (COUNT, _number(".2f")),
    "API requests/s at peak": (COUNT, COUNT),
    "idempotency bytes per key": (lambda count: f"~{_bytes(count)}", _bytes),
    "idempotency store at a 24 h TTL": (_bytes, _bytes),
    "peak over this machine's SUT ceiling": (COUNT, _ratio_text),
}


def rows(measured: Measured) -> list[tuple[str, list[str]]]:
    """The table's rows: a quantity, then seed and measured for each daily volume."""
    by_volume = [figures(measured, daily) for daily in DAILY_CHARGES]
    for volume in by_volume:
        assert volume.keys() == FORMATS.keys(), "every quantity needs its formats"
    return [
        (
            name,
            [
                "-" if value is None else text(value)
                for volume in by_volume
                for value, text in zip(volume[name], FORMATS[name], strict=True)
            ],
        )
        for name in FORMATS
    ]


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
