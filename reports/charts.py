"""The run's timeline as inline SVG: throughput, latency percentiles and error/info rates per
second, with each fault's window shaded across them (matplotlib, rendered without a display).

matplotlib is imported here only, when a report is drawn: the checkers never pay for it.
"""

import io
from collections.abc import Mapping, Sequence

from invariants import Op

NS_PER_S = 1_000_000_000
# Wide enough for a laptop screen, small enough to embed many in one file.
FIGURE_INCHES = (10.0, 6.0)
# Latency percentiles drawn per second, of the ops that completed ok.
PERCENTILES = (50, 95, 99)
# One colour per fault window, repeated if there are more.
_SVG_METADATA = ("Creator", "Date", "Format", "Type")
FAULT_COLOURS = ("#e4572e", "#17bebb", "#ffc914", "#76b041", "#a05195", "#2e86ab")


def timeline_svg(ops: Sequence[Op], faults: Sequence[Mapping], duration_s: float) -> str:
    """An SVG document (as text) of the run's ops per second and their latency, faults shaded.

    Empty string when there are no ops to draw.
    """
    if not ops:
        return ""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    seconds = max(1, int(duration_s) + 1)
    buckets = _per_second(ops, seconds)
    pyplot.rcParams["svg.fonttype"] = "none"  # text stays text: smaller, and searchable
    figure, (rates, latency) = pyplot.subplots(2, 1, sharex=True, figsize=FIGURE_INCHES)
    try:
        xs = list(range(seconds))
        for outcome, colour in (("ok", "#2e7d32"), ("info", "#f9a825"), ("fail", "#c62828")):
            rates.plot(xs, buckets[outcome], label=f"{outcome} ops/s", color=colour, lw=1.4)
        rates.set_ylabel("ops completed per second")
        for percentile in PERCENTILES:
            latency.plot(xs, buckets[f"p{percentile}"], label=f"p{percentile}", lw=1.2)
        latency.set_ylabel("latency of ok ops (ms)")
        latency.set_xlabel("seconds since the run started")
        for axes in (rates, latency):
            _shade_faults(axes, faults, duration_s)
            axes.grid(alpha=0.3)
            axes.legend(loc="upper right", fontsize="small")
        figure.tight_layout()
        out = io.StringIO()
        # No metadata: the same run draws the same bytes (no date), and nothing but the plot.
        figure.savefig(out, format="svg", metadata=dict.fromkeys(_SVG_METADATA))
    finally:
        pyplot.close(figure)
    text = out.getvalue()
    # Inline in HTML: the XML prolog and doctype are not allowed there.
    return text[text.index("<svg") :]


def _per_second(ops: Sequence[Op], seconds: int) -> dict[str, list[float]]:
    counts = {outcome: [0.0] * seconds for outcome in ("ok", "info", "fail")}
    latencies: list[list[float]] = [[] for _ in range(seconds)]
    for op in ops:
        end = op.completion_time if op.completion_time is not None else op.invoke_time
        second = min(seconds - 1, max(0, end // NS_PER_S))
        counts[op.type][second] += 1
        if op.type == "ok" and op.completion_time is not None:
            latencies[second].append((op.completion_time - op.invoke_time) / 1e6)
    buckets: dict[str, list[float]] = dict(counts)
    for percentile in PERCENTILES:
        buckets[f"p{percentile}"] = [_percentile(values, percentile) for values in latencies]
    return buckets


def _percentile(values: list[float], percentile: int) -> float:
    """Nearest-rank percentile; NaN (a gap in the line) for a second without ok ops."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(0, -(-percentile * len(ordered) // 100) - 1)
    return ordered[rank]


def _shade_faults(axes, faults: Sequence[Mapping], duration_s: float) -> None:
    for position, fault in enumerate(faults):
        start = fault["start_s"]
        stop = fault["stop_s"] if fault["stop_s"] is not None else duration_s
        colour = FAULT_COLOURS[position % len(FAULT_COLOURS)]
        axes.axvspan(start, stop, color=colour, alpha=0.15, lw=0)
        axes.annotate(
            fault["name"],
            xy=(start, 1.0),
            xycoords=("data", "axes fraction"),
            fontsize="x-small",
            rotation=90,
            va="top",
            color=colour,
        )
