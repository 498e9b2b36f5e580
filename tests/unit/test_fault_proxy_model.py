"""The fault proxy's model: addresses, toxic validation, the toxic collection, slicing, the
decision log."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from faults.proxy import decisions
from faults.proxy import loop as event_loop
from faults.proxy.address import canonical_address, format_address, parse_address, parse_port
from faults.proxy.behaviours import iter_slice_sizes, slice_sizes
from faults.proxy.decisions import Decision
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


@pytest.mark.parametrize(
    ("first", "second", "same"),
    [
        ("localhost:5432", "127.0.0.1:5432", True),
        ("127.0.0.1:5432", "127.0.0.1:5433", False),
        (":8080", "0.0.0.0:8080", True),
        ("[::1]:80", "[0:0::1]:80", True),
        ("no-such-host.invalid:1", "NO-SUCH-HOST.invalid:1", True),
        ("no-such-host.invalid:1", "127.0.0.1:1", False),
    ],
)
def test_canonical_addresses_compare_places_not_spellings(
    first: str, second: str, same: bool
) -> None:
    async def both() -> tuple[tuple[str, int], tuple[str, int]]:
        return await canonical_address(first), await canonical_address(second)

    left, right = event_loop.run(both(), loop="asyncio")
    assert (left == right) is same


@pytest.mark.parametrize("text", ["-1", "65536", "99999", "http", ""])
def test_parse_port_refuses(text: str) -> None:
    with pytest.raises(ValueError, match="port must be a number from 0 to 65535"):
        parse_port(text)


def test_an_update_makes_a_new_revision_of_the_same_toxic() -> None:
    toxic = parse_new_toxic({"type": "noop"}, order=2)
    updated = merge_toxic_update(merge_toxic_update(toxic, {}), {"toxicity": 0.5})
    assert (toxic.revision, updated.revision, updated.order) == (0, 2, 2)


def _decision(connection: int) -> Decision:
    return Decision("p", connection, "downstream", "t", "noop", 0, 1.0, 0.5, True)


def test_the_decision_log_keeps_the_newest_and_counts_what_it_dropped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(decisions, "DECISION_COUNT_MAX", 3)
    log = decisions.DecisionLog(seed=9)
    for connection in range(1, 6):
        log.record(_decision(connection))
    answer = log.to_json()
    assert (answer["seed"], answer["dropped"]) == (9, 2)
    assert [d["connection"] for d in answer["decisions"]] == [3, 4, 5]


def test_slicing_is_lazy() -> None:
    sizes = iter_slice_sizes(2**40, 1, 0, random.Random(0))  # a list would not fit in memory
    assert [next(sizes) for _ in range(3)] == [1, 1, 1]
