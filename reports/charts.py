"""The run's timeline as inline SVG: ops per second by outcome and latency percentiles, with
each fault's window shaded across them (matplotlib, rendered without a display), drawn from
report.json alone.

matplotlib is imported here only, when a report is drawn: the checkers never pay for it.
"""

import io
from collections.abc import Mapping

from reports.timeline import OUTCOMES, PERCENTILES

# Wide enough for a laptop screen, small enough to embed in one file.
FIGURE_INCHES = (10.0, 6.0)
OUTCOME_COLOURS = {"ok": "#2e7d32", "info": "#f9a825", "fail": "#c62828"}
# One colour per fault window, repeated if there are more.
FAULT_COLOURS = ("#e4572e", "#17bebb", "#ffc914", "#76b041", "#a05195", "#2e86ab")
_SVG_METADATA = ("Creator", "Date", "Format", "Type")


def timeline_svg(report: Mapping) -> str:
    """An SVG element (as text) of the report's timeline; empty when the run has no ops."""
    timeline = report["timeline"]
    if not any(sum(timeline[outcome]) for outcome in OUTCOMES):
        return ""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    pyplot.rcParams["svg.fonttype"] = "none"  # text stays text: smaller, and searchable
    figure, (rates, latency) = pyplot.subplots(2, 1, sharex=True, figsize=FIGURE_INCHES)
    try:
        seconds = timeline["second"]
        for outcome in OUTCOMES:
            colour = OUTCOME_COLOURS[outcome]
            rates.plot(seconds, timeline[outcome], label=f"{outcome} ops/s", color=colour, lw=1.4)
        rates.set_ylabel("ops completed per second")
        for percentile in PERCENTILES:
            values = [nan_for_none(value) for value in timeline[f"p{percentile}_ms"]]
            latency.plot(seconds, values, label=f"p{percentile}", lw=1.2)
        latency.set_ylabel("latency of ok ops (ms)")
        latency.set_xlabel("seconds since the run started")
        duration_s = report["stats"]["duration_s"]
        for axes in (rates, latency):
            _shade_faults(axes, report["faults"], duration_s)
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


def nan_for_none(value: float | None) -> float:
    """A gap in the line where a second had no ok op."""
    return float("nan") if value is None else value


def _shade_faults(axes, faults, duration_s: float) -> None:
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
