"""Per-step figures from the driver's samples (pure): achieved rate, latency percentiles and
errors, per request kind."""

import math
from collections import Counter
from collections.abc import Sequence

from scenarios.bench.driver import Sample
from scenarios.bench.schedule import KINDS

# Outcomes that are an answer the client can act on; everything else is an error.
DEFINITIVE_OUTCOMES = frozenset({"ok", "declined", "refused"})
PERCENTILES = (50, 95, 99)


def percentile(sorted_values: Sequence[float], rank: float) -> float | None:
    """The nearest-rank percentile of already sorted values; None for none.

    >>> percentile([1.0, 2.0, 3.0, 4.0], 50), percentile([1.0, 2.0, 3.0, 4.0], 99)
    (2.0, 4.0)
    """
    if not sorted_values:
        return None
    index = max(0, math.ceil(rank / 100 * len(sorted_values)) - 1)
    return sorted_values[index]


def summarize(samples: Sequence[Sample], *, duration_s: float) -> dict[str, dict]:
    """Per kind: offered, definitive answers, achieved answers per second, latency
    percentiles in ms (over every request, errors included, from its due time) and errors.

    The achieved rate divides the definitive answers by the step's duration or, when answers
    came later than the step's end (an overloaded system), by the time to the last answer.

    >>> s = [Sample("charge", 0.0, 0.010, "ok"), Sample("charge", 0.5, 0.030, "http_500")]
    >>> figures = summarize(s, duration_s=1.0)["charge"]
    >>> figures["offered"], figures["definitive"], figures["achieved_per_s"], figures["errors"]
    (2, 1, 1.0, {'http_500': 1})
    """
    assert duration_s > 0, f"duration {duration_s} is not positive"
    figures: dict[str, dict] = {}
    for kind in KINDS:
        mine = [sample for sample in samples if sample.kind == kind]
        latencies = sorted(sample.latency_s for sample in mine)
        definitive = [sample for sample in mine if sample.outcome in DEFINITIVE_OUTCOMES]
        last_answer_s = max((s.due_s + s.latency_s for s in definitive), default=0.0)
        window_s = max(duration_s, last_answer_s)
        outcomes = Counter(sample.outcome for sample in mine)
        figures[kind] = {
            "offered": len(mine),
            "definitive": len(definitive),
            "achieved_per_s": round(len(definitive) / window_s, 1),
            "outcomes": {name: outcomes[name] for name in sorted(outcomes)},
            "errors": {
                name: count
                for name, count in sorted(outcomes.items())
                if name not in DEFINITIVE_OUTCOMES
            },
            **{f"p{rank}_ms": _ms(percentile(latencies, rank)) for rank in PERCENTILES},
            "max_ms": _ms(latencies[-1] if latencies else None),
        }
    return figures


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 1)
