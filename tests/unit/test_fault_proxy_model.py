"""The fault proxy's pure parts: addresses, toxic validation, the toxic collection, slicing."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from faults.proxy.address import format_address, parse_address
from faults.proxy.behaviours import slice_sizes
from faults.proxy.errors import ApiError
from faults.proxy.specs import ProxySpec, parse_populate, parse_proxy_update
from faults.proxy.toxics import ToxicCollection, merge_toxic_update, parse_new_toxic


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("127.0.0.1:8474", ("127.0.0.1", 8474)),
        ("localhost:0", ("localhost", 0)),
        ("[::1]:5432", ("::1", 5432)),
        (":8080", ("0.0.0.0", 8080)),
    ],
)
def test_parse_address(text: str, expected: tuple[str, int]) -> None:
    assert parse_address(text) == expected


@pytest.mark.parametrize("text", ["db", "db:", "db:http", "db:65536", "::1:80", "db:-1"])
def test_parse_address_refuses(text: str) -> None:
    with pytest.raises(ValueError, match="address"):
        parse_address(text)


def test_format_address_brackets_ipv6() -> None:
    assert (format_address("::1", 80), format_address("10.0.0.1", 80)) == (
        "[::1]:80",
        "10.0.0.1:80",
    )


def _error(body: object) -> ApiError:
    with pytest.raises(ApiError) as caught:
        parse_new_toxic(body, order=0)
    return caught.value


def test_new_toxic_defaults() -> None:
    toxic = parse_new_toxic({"type": "reset_peer", "attributes": None, "toxicity": None}, order=3)
    assert toxic.to_json() == {
        "name": "reset_peer_downstream",
        "type": "reset_peer",
        "stream": "downstream",
        "toxicity": 1.0,
        "attributes": {"timeout": 0},
    }
    assert toxic.order == 3


def test_new_toxic_accepts_whole_floats_and_ignores_unknown_attributes() -> None:
    body = {"type": "latency", "stream": "UPSTREAM", "attributes": {"latency": 300.0, "x": "y"}}
    toxic = parse_new_toxic(body, order=0)
    assert (toxic.name, dict(toxic.attributes)) == (
        "latency_upstream",
        {"latency": 300, "jitter": 0},
    )


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ("latency", 400, "bad request body: expected a JSON object"),
        ({"type": "nope", "stream": "sideways"}, 400, "stream was invalid"),
        ({"type": "nope"}, 400, "invalid toxic type"),
        ({}, 400, "invalid toxic type"),
        ({"type": "latency", "toxicity": 1.5}, 400, "bad request body: toxicity"),
        ({"type": "latency", "toxicity": True}, 400, "bad request body: toxicity"),
        ({"type": "latency", "attributes": [1]}, 400, "bad request body: attributes"),
        ({"type": "slicer"}, 400, "bad request body: attribute 'average_size'"),
        ({"type": "limit_data", "attributes": {"bytes": 2**63}}, 400, "bad request body"),
    ],
)
def test_new_toxic_refuses(body: object, status: int, message: str) -> None:
    error = _error(body)
    assert (error.status, error.message[: len(message)]) == (status, message)


def test_update_merges_and_keeps_identity() -> None:
    toxic = parse_new_toxic({"type": "latency", "attributes": {"latency": 10}}, order=5)
    updated = merge_toxic_update(toxic, {"attributes": {"jitter": 2}, "name": "x", "type": "noop"})
    assert (updated.name, updated.type, updated.order, updated.toxicity) == (
        "latency_downstream",
        "latency",
        5,
        1.0,
    )
    assert dict(updated.attributes) == {"latency": 10, "jitter": 2}


def test_collection_names_are_unique_across_streams_and_order_is_kept() -> None:
    toxics = ToxicCollection()
    toxics.add({"type": "latency", "name": "a"})
    toxics.add({"type": "noop", "stream": "upstream", "name": "b"})
    toxics.add({"type": "timeout", "name": "c"})
    with pytest.raises(ApiError, match="toxic already exists"):
        toxics.add({"type": "noop", "stream": "upstream", "name": "a"})
    toxics.update("a", {"toxicity": 0.5})
    assert [toxic.name for toxic in toxics.listing()] == ["b", "a", "c"]
    assert [toxic.name for toxic in toxics.chain("downstream")] == ["a", "c"]
    assert toxics.remove("a").toxicity == 0.5
    with pytest.raises(ApiError, match="toxic not found"):
        toxics.get("a")
    assert [toxic.name for toxic in toxics.clear()] == ["b", "c"]
    assert toxics.listing() == []


def test_proxy_update_keeps_omitted_and_null_fields() -> None:
    current = ProxySpec("api", "127.0.0.1:9000", "127.0.0.1:80", True)
    assert parse_proxy_update({"enabled": None, "listen": None}, current) == current
    moved = parse_proxy_update({"upstream": "127.0.0.1:81"}, current)
    assert moved == ProxySpec("api", "127.0.0.1:9000", "127.0.0.1:81", True)


def test_populate_names_the_bad_proxy() -> None:
    good = {"name": "a", "upstream": "127.0.0.1:80"}
    with pytest.raises(ApiError, match="missing required field: upstream at proxy 2"):
        parse_populate([good, {"name": "b"}])


@given(
    length=st.integers(min_value=1, max_value=70_000),
    average=st.integers(min_value=1, max_value=5_000),
    variation=st.integers(min_value=0, max_value=5_000),
    seed=st.integers(min_value=0, max_value=2**32),
)
def test_slices_cover_the_chunk_with_bounded_pieces(
    length: int, average: int, variation: int, seed: int
) -> None:
    sizes = slice_sizes(length, average, variation, random.Random(seed))
    assert sum(sizes) == length
    assert min(sizes) >= 1
    assert max(sizes) <= average + variation
