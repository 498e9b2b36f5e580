"""A scenario on another clock: one rule that shortens a scenario document for a quick run, so
that the tests run the bundled scenarios as written, only shorter.

What scales is what the schemas mark `scales_with` (faults.kinds.base.SCALES_WITH): "clock"
values (the workload's length, each fault's start and duration, a kind's own times such as a
kill's restart or a flapping partition's periods, the random nemesis's ranges, its fault count
among them) by `clock`, and "rate" values (the request rate) by `rate`. Nothing else changes:
clients, mixes, retry timeouts, toxic latencies and failpoint hit counts are the scenario's.
"""

import copy
from collections.abc import Mapping
from typing import Any

from faults.kinds.base import SCALES_WITH
from scenarios.scenario import SCHEMA


def scaled(document: Mapping[str, Any], *, clock: float, rate: float = 1.0) -> dict[str, Any]:
    """A copy of a scenario document with its clock and its rate scaled.

    >>> document = {"name": "x", "seed": 1, "invariants": ["liveness"],
    ...     "workload": {"clients": 2, "rate_per_s": 16, "duration_s": 30},
    ...     "faults": [{"name": "kill", "at_s": 5, "kill": {"service": "api",
    ...                 "restart_after_s": 1}}]}
    >>> short = scaled(document, clock=0.4, rate=0.75)
    >>> short["workload"], short["faults"][0]["at_s"], short["faults"][0]["kill"]
    ({'clients': 2, 'rate_per_s': 12.0, 'duration_s': 12.0}, 2.0, {'service': 'api', \
'restart_after_s': 0.4})
    """
    assert clock > 0 and rate > 0, "a scale is a positive factor"
    return _scaled(SCHEMA, copy.deepcopy(dict(document)), {"clock": clock, "rate": rate})


def _scaled(schema: Mapping[str, Any], value: Any, factors: Mapping[str, float]) -> Any:
    if SCALES_WITH in schema:
        return _number(schema, value * factors[schema[SCALES_WITH]])
    if isinstance(value, dict):
        properties = schema.get("properties", {})
        return {key: _scaled(properties.get(key, {}), item, factors) for key, item in value.items()}
    if isinstance(value, list):
        return [_scaled(schema.get("items", {}), item, factors) for item in value]
    return value


def _number(schema: Mapping[str, Any], value: float) -> int | float:
    # Whole numbers stay whole and within their minimum (a count of faults, a period in ms);
    # times keep a millisecond, so that 5 s scaled by 0.4 reads 2.0, not 2.0000000000000004.
    if schema.get("type") == "integer":
        return max(round(value), schema.get("minimum", 0))
    return round(value, 3)
