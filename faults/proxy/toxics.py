"""The toxic model: types, attribute validation and a proxy's toxic collection. No I/O here.

A toxic is plain data; what it does to bytes on a live connection lives in `behaviours.py`.
Validation follows Toxiproxy 2.x: the same defaults, error messages and status codes, except
that values Toxiproxy accepts but then misbehaves on (negative times, toxicity outside 0..1,
a slicer with average_size 0) are refused with 400 here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace

from faults.proxy import errors
from faults.proxy.names import bounded_name

UPSTREAM = "upstream"
DOWNSTREAM = "downstream"
STREAMS = (UPSTREAM, DOWNSTREAM)

# Every attribute is a whole number (Go's int64); the unit is in the comment.
TOXIC_ATTRIBUTES: Mapping[str, Mapping[str, int]] = {
    "latency": {"latency": 0, "jitter": 0},  # ms
    "bandwidth": {"rate": 0},  # KB/s, KB = 1000 B; 0 holds all data
    "slow_close": {"delay": 0},  # ms
    "timeout": {"timeout": 0},  # ms; 0 never closes
    "reset_peer": {"timeout": 0},  # ms
    "slicer": {"average_size": 0, "size_variation": 0, "delay": 0},  # B, B, µs
    "limit_data": {"bytes": 0},  # B
    "noop": {},
}

# Toxiproxy recurses forever splitting a chunk into pieces of average size 0.
ATTRIBUTE_MINIMUM: Mapping[tuple[str, str], int] = {("slicer", "average_size"): 1}

# Go stores attributes as int64; anything larger cannot have come from a Toxiproxy client.
ATTRIBUTE_VALUE_MAX = 2**63 - 1


@dataclass(frozen=True)
class Toxic:
    """One toxic of a proxy. `order` is its place in the chain: added order, kept on update.

    `order` is unique per proxy for the server's life (a toxic removed and added again gets a
    new one) and `revision` counts updates; together they name one version of one toxic, which
    keys its seeded toxicity rolls (faults/proxy/decisions.py).
    """

    name: str
    type: str
    stream: str
    toxicity: float
    attributes: Mapping[str, int]
    order: int
    revision: int = 0

    def to_json(self) -> dict[str, object]:
        """Return the Toxiproxy JSON object for this toxic.

        >>> Toxic("lag", "latency", "downstream", 1.0, {"latency": 5, "jitter": 0}, 0).to_json()
        {'name': 'lag', 'type': 'latency', 'stream': 'downstream', 'toxicity': 1.0, \
'attributes': {'latency': 5, 'jitter': 0}}
        """
        return {
            "name": self.name,
            "type": self.type,
            "stream": self.stream,
            "toxicity": self.toxicity,
            "attributes": dict(self.attributes),
        }


def _require_object(body: object) -> Mapping[str, object]:
    if not isinstance(body, dict):
        raise errors.bad_request_body("expected a JSON object")
    return body


def _optional_string(body: Mapping[str, object], key: str, default: str) -> str:
    value = body.get(key)
    if value is None:
        return default
    if not isinstance(value, str):
        raise errors.bad_request_body(f"field {key!r} must be a string, got {value!r}")
    return value


def _parse_stream(body: Mapping[str, object]) -> str:
    stream = _optional_string(body, "stream", DOWNSTREAM).lower()
    if stream not in STREAMS:
        raise errors.invalid_stream()
    return stream


def _parse_toxicity(body: Mapping[str, object], default: float) -> float:
    value = body.get("toxicity")
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise errors.bad_request_body(f"toxicity must be a number, got {value!r}")
    if not 0.0 <= value <= 1.0:
        raise errors.bad_request_body(f"toxicity must be between 0 and 1, got {value!r}")
    return float(value)


def _whole_number(value: object) -> int | None:
    """Return `value` as an int if it is a JSON whole number (5 or 5.0), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    return None


def _merge_attributes(
    toxic_type: str, current: Mapping[str, int], body: Mapping[str, object]
) -> dict[str, int]:
    """Overlay the body's `attributes` on `current`; unknown keys are ignored, as Toxiproxy does."""
    given = body.get("attributes")
    if given is None:
        given = {}
    if not isinstance(given, dict):
        raise errors.bad_request_body(f"attributes must be a JSON object, got {given!r}")
    merged = dict(current)
    for key in TOXIC_ATTRIBUTES[toxic_type]:
        if key not in given or given[key] is None:
            continue
        number = _whole_number(given[key])
        if number is None or not 0 <= number <= ATTRIBUTE_VALUE_MAX:
            raise errors.bad_request_body(
                f"attribute {key!r} of a {toxic_type} toxic must be a whole number >= 0, "
                f"got {given[key]!r}"
            )
        merged[key] = number
    for (minimum_type, key), minimum in ATTRIBUTE_MINIMUM.items():
        if minimum_type == toxic_type and merged[key] < minimum:
            raise errors.bad_request_body(
                f"attribute {key!r} of a {toxic_type} toxic must be at least {minimum}"
            )
    return merged


def parse_new_toxic(body: object, *, order: int) -> Toxic:
    """Validate a POST /proxies/{p}/toxics body and build the toxic, defaults filled in.

    Checks run in Toxiproxy's order (body, stream, type, attributes) so that a request with
    several faults gets the same error from both servers.

    >>> parse_new_toxic({"type": "latency", "attributes": {"latency": 300}}, order=0).name
    'latency_downstream'
    """
    fields = _require_object(body)
    stream = _parse_stream(fields)
    toxic_type = _optional_string(fields, "type", "")
    name = _optional_string(fields, "name", "") or f"{toxic_type}_{stream}"
    bounded_name(name, "name")
    if toxic_type not in TOXIC_ATTRIBUTES:
        raise errors.invalid_toxic_type()
    return Toxic(
        name=name,
        type=toxic_type,
        stream=stream,
        toxicity=_parse_toxicity(fields, 1.0),
        attributes=_merge_attributes(toxic_type, TOXIC_ATTRIBUTES[toxic_type], fields),
        order=order,
    )


def merge_toxic_update(toxic: Toxic, body: object) -> Toxic:
    """Apply a POST/PATCH /proxies/{p}/toxics/{t} body: attributes and toxicity merge.

    Name, type and stream are fixed once created; keys for them are ignored.

    >>> lag = parse_new_toxic({"type": "latency", "attributes": {"latency": 300}}, order=0)
    >>> dict(merge_toxic_update(lag, {"attributes": {"jitter": 10}}).attributes)
    {'latency': 300, 'jitter': 10}
    """
    fields = _require_object(body)
    return replace(
        toxic,
        toxicity=_parse_toxicity(fields, toxic.toxicity),
        attributes=_merge_attributes(toxic.type, toxic.attributes, fields),
        revision=toxic.revision + 1,
    )


class ToxicCollection:
    """The toxics of one proxy, names unique across both streams, each stream in added order."""

    def __init__(self) -> None:
        self._toxics: dict[str, Toxic] = {}
        self._added_count = 0

    def add(self, body: object) -> Toxic:
        """Validate and add a toxic from an API body; raise ApiError (400/409) if refused."""
        toxic = parse_new_toxic(body, order=self._added_count)
        if toxic.name in self._toxics:
            raise errors.toxic_already_exists()
        self._added_count += 1
        self._toxics[toxic.name] = toxic
        return toxic

    def get(self, name: str) -> Toxic:
        """Return the toxic called `name`; raise ApiError (404) if there is none."""
        toxic = self._toxics.get(name)
        if toxic is None:
            raise errors.toxic_not_found()
        return toxic

    def update(self, name: str, body: object) -> Toxic:
        """Merge an API update body into the toxic called `name` and return the new toxic."""
        toxic = merge_toxic_update(self.get(name), body)
        self._toxics[name] = toxic
        return toxic

    def remove(self, name: str) -> Toxic:
        """Remove and return the toxic called `name`; raise ApiError (404) if there is none."""
        toxic = self.get(name)
        del self._toxics[name]
        return toxic

    def clear(self) -> list[Toxic]:
        """Remove every toxic and return them, in listing order."""
        removed = self.listing()
        self._toxics.clear()
        return removed

    def chain(self, stream: str) -> list[Toxic]:
        """Return the toxics of one stream in the order data meets them (added order)."""
        return sorted(
            (toxic for toxic in self._toxics.values() if toxic.stream == stream),
            key=lambda toxic: toxic.order,
        )

    def listing(self) -> list[Toxic]:
        """Return all toxics as the API lists them: upstream first, then downstream."""
        return self.chain(UPSTREAM) + self.chain(DOWNSTREAM)
