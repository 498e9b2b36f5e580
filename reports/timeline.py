"""The run's timeline for report.json: per second since the run started, the ops completed by
outcome and the latency percentiles of the ok ones (what report.html draws)."""

from collections.abc import Sequence

from invariants import Op

NS_PER_S = 1_000_000_000
# Latency percentiles per second, of the ops that completed ok.
PERCENTILES = (50, 95, 99)
OUTCOMES = ("ok", "info", "fail")


def run_timeline(ops: Sequence[Op], duration_s: float) -> dict[str, list]:
    """``{"second": [0, 1, ...], "ok": [...], "info": [...], "fail": [...], "p50_ms": [...],
    ...}``; a second without ok ops has ``None`` for its percentiles.

    >>> run_timeline([], 1.5)["second"]
    [0, 1]
    """
    seconds = max(1, int(duration_s) + 1)
    counts = {outcome: [0] * seconds for outcome in OUTCOMES}
    latencies: list[list[float]] = [[] for _ in range(seconds)]
    for op in ops:
        end = op.completion_time if op.completion_time is not None else op.invoke_time
        second = min(seconds - 1, max(0, end // NS_PER_S))
        counts[op.type][second] += 1
        if op.type == "ok" and op.completion_time is not None:
            latencies[second].append((op.completion_time - op.invoke_time) / 1e6)
    timeline: dict[str, list] = {"second": list(range(seconds)), **counts}
    for percentile in PERCENTILES:
        timeline[f"p{percentile}_ms"] = [percentile_of(values, percentile) for values in latencies]
    return timeline


def percentile_of(values: list[float], percentile: int) -> float | None:
    """Nearest-rank percentile, rounded to 0.1 ms; None without values.

    >>> percentile_of([3.0, 1.0, 2.0, 4.0], 50), percentile_of([], 99)
    (2.0, None)
    """
    if not values:
        return None
    ordered = sorted(values)
    rank = max(0, -(-percentile * len(ordered) // 100) - 1)
    return round(ordered[rank], 1)
