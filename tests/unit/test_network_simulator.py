"""The card network simulator in-process (aiohttp test server) over a temporary SQLite file."""

import asyncio
import json
import sqlite3
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest
from aiohttp.test_utils import TestClient, TestServer

from system_under_test.externals.network import make_app
from system_under_test.externals.network.contract import PATHS, MovementKind, Outcome
from system_under_test.externals.network.movements import AMOUNT_MAX, decide

Result = TypeVar("Result")

AUTHORIZATION, REFUND, PAYOUT = MovementKind.AUTHORIZATION, MovementKind.REFUND, MovementKind.PAYOUT
# Far enough ahead that no test run reaches it; the past one is long gone.
FUTURE_MS = time.time_ns() // 1_000_000 + 3_600_000
PAST_MS = 1

KIND_FIELDS: dict[MovementKind, dict[str, object]] = {
    AUTHORIZATION: {"card_number": "4242424242424242"},
    REFUND: {"authorization_id": "auth_0123456789abcdef01234567"},
    PAYOUT: {},
}


def simulate(database: Path, scenario: Callable[[TestClient], Awaitable[Result]]) -> Result:
    """Run `scenario` against a fresh simulator app over `database` (pytest-asyncio is absent)."""

    async def main() -> Result:
        async with TestClient(TestServer(make_app(database))) as client:
            return await scenario(client)

    return asyncio.run(main())


def body(kind: MovementKind, **changes: object) -> dict[str, object]:
    """A valid request of `kind`, with `changes` applied."""
    return {
        "reference": "ref_1",
        "amount": 1250,
        "currency": "usd",
        "not_after_ms": FUTURE_MS,
        **KIND_FIELDS[kind],
        **changes,
    }


async def post(client: TestClient, kind: MovementKind, payload: Any) -> tuple[int, Any]:
    # Serialized here: aiohttp's json=None would send no body at all, not `null`.
    response = await client.post(
        PATHS[kind], data=json.dumps(payload), headers={"Content-Type": "application/json"}
    )
    return response.status, await response.json()


async def get(client: TestClient, kind: MovementKind, **query: str) -> tuple[int, Any]:
    response = await client.get(PATHS[kind], params=query)
    return response.status, await response.json()


def stored_rows(database: Path) -> list[dict[str, Any]]:
    """Every record as a fresh connection reads it from the file, in seq order."""
    connection = sqlite3.connect(database)
    connection.row_factory = sqlite3.Row
    try:
        return [dict(row) for row in connection.execute("SELECT * FROM movements ORDER BY seq")]
    finally:
        connection.close()


@pytest.mark.parametrize(
    ("card_number", "outcome", "decline_code"),
    [
        ("4242424242424242", "approved", None),
        ("4000000000000002", "declined", "generic_decline"),
        ("4000000000009995", "declined", "insufficient_funds"),
    ],
)
def test_the_test_card_decides_an_authorization(tmp_path, card_number, outcome, decline_code):
    database = tmp_path / "network.sqlite"
    sent = body(AUTHORIZATION, card_number=card_number)
    status, answer = simulate(database, lambda client: post(client, AUTHORIZATION, sent))
    assert status == 200
    assert (answer["outcome"], answer["decline_code"]) == (outcome, decline_code)
    assert answer["kind"] == "authorization"
    assert answer["card_last4"] == card_number[-4:]
    assert answer["authorization_id"] is None
    assert answer["id"].startswith("auth_")
    [row] = stored_rows(database)
    assert row == {"seq": 1, **answer}
    assert (row["reference"], row["amount"], row["currency"]) == ("ref_1", 1250, "usd")


@pytest.mark.parametrize(("kind", "prefix"), [(REFUND, "nrf_"), (PAYOUT, "npo_")])
def test_refunds_and_payouts_are_approved_and_recorded(tmp_path, kind, prefix):
    database = tmp_path / "network.sqlite"
    sent = body(kind, amount=7)
    status, answer = simulate(database, lambda client: post(client, kind, sent))
    assert status == 200
    assert (answer["kind"], answer["outcome"], answer["decline_code"]) == (kind, "approved", None)
    assert answer["id"].startswith(prefix)
    assert len(answer["id"]) == len(prefix) + 24
    assert answer["card_last4"] is None
    assert answer["authorization_id"] == sent.get("authorization_id")
    [row] = stored_rows(database)
    assert row == {"seq": 1, **answer}
    assert (row["reference"], row["amount"], row["currency"]) == ("ref_1", 7, "usd")


def test_a_refund_is_not_checked_against_its_authorization(tmp_path):
    # A dumb party: a refund of an authorization it never saw, for any amount, moves money.
    sent = body(REFUND, authorization_id="auth_never_sent", amount=AMOUNT_MAX)
    status, answer = simulate(tmp_path / "n.sqlite", lambda client: post(client, REFUND, sent))
    assert (status, answer["outcome"]) == (200, "approved")


@pytest.mark.parametrize("kind", list(MovementKind))
def test_a_request_after_its_deadline_is_recorded_expired(tmp_path, kind):
    database = tmp_path / "network.sqlite"
    sent = body(kind, not_after_ms=PAST_MS, card_number="4000000000000002")
    if kind is not AUTHORIZATION:
        del sent["card_number"]
    status, answer = simulate(database, lambda client: post(client, kind, sent))
    assert (status, answer["outcome"], answer["decline_code"]) == (200, "expired", None)
    [row] = stored_rows(database)
    assert (row["kind"], row["outcome"]) == (kind, "expired")


def test_the_deadline_millisecond_itself_is_in_time():
    fields = body(AUTHORIZATION, not_after_ms=5_000)
    in_time = decide(AUTHORIZATION, fields, movement_id="auth_1", received_at_ns=5_000_999_999)
    late = decide(AUTHORIZATION, fields, movement_id="auth_1", received_at_ns=5_001_000_000)
    assert (in_time.outcome, late.outcome) == (Outcome.APPROVED, Outcome.EXPIRED)


@pytest.mark.parametrize("kind", list(MovementKind))
def test_the_same_reference_twice_is_two_records(tmp_path, kind):
    database = tmp_path / "network.sqlite"

    async def scenario(client):
        first = await post(client, kind, body(kind))
        second = await post(client, kind, body(kind))
        return first, second, await get(client, kind, reference="ref_1")

    (_, first), (_, second), (status, listed) = simulate(database, scenario)
    assert first["id"] != second["id"]
    assert (first["outcome"], second["outcome"]) == ("approved", "approved")
    assert status == 200
    assert listed == {"data": [first, second]}
    assert [row["id"] for row in stored_rows(database)] == [first["id"], second["id"]]


def test_a_look_up_by_reference_keeps_kinds_apart(tmp_path):
    async def scenario(client):
        await post(client, REFUND, body(REFUND, reference="shared"))
        await post(client, PAYOUT, body(PAYOUT, reference="other"))
        return [await get(client, kind, reference="shared") for kind in MovementKind]

    authorizations, refunds, payouts = simulate(tmp_path / "n.sqlite", scenario)
    assert authorizations == (200, {"data": []})
    assert [record["kind"] for record in refunds[1]["data"]] == ["refund"]
    assert payouts == (200, {"data": []})


def test_paging_is_exact_at_the_boundary_and_keeps_kinds_apart(tmp_path):
    async def scenario(client):
        sent = []
        # Interleaved kinds: authorizations get seq 1, 3, 5; refunds 2, 4.
        for index in range(3):
            sent.append(
                await post(client, AUTHORIZATION, body(AUTHORIZATION, reference=f"a{index}"))
            )
            if index < 2:
                await post(client, REFUND, body(REFUND, reference=f"r{index}"))
        pages = {
            "all": await get(client, AUTHORIZATION, after_seq="0", limit="3"),
            "first": await get(client, AUTHORIZATION, after_seq="0", limit="2"),
            "rest": await get(client, AUTHORIZATION, after_seq="3", limit="2"),
            "beyond": await get(client, AUTHORIZATION, after_seq="5"),
            "refunds": await get(client, REFUND),
            "payouts": await get(client, PAYOUT, after_seq="4"),
        }
        return [answer for _, answer in sent], pages

    authorizations, pages = simulate(tmp_path / "n.sqlite", scenario)
    assert all(status == 200 for status, _ in pages.values())
    pages = {name: answer for name, (_, answer) in pages.items()}
    assert pages["all"] == {"data": authorizations, "last_seq": 5, "has_more": False}
    assert pages["first"] == {"data": authorizations[:2], "last_seq": 3, "has_more": True}
    assert pages["rest"] == {"data": authorizations[2:], "last_seq": 5, "has_more": False}
    assert pages["beyond"] == {"data": [], "last_seq": 5, "has_more": False}
    assert [record["reference"] for record in pages["refunds"]["data"]] == ["r0", "r1"]
    assert (pages["refunds"]["last_seq"], pages["refunds"]["has_more"]) == (4, False)
    assert pages["payouts"] == {"data": [], "last_seq": 4, "has_more": False}


# Fullwidth "4242..." (U+FF14, U+FF12): str.isdigit() says True.
FULLWIDTH_CARD = "\uff14\uff12\uff14\uff12" * 4

BAD_BODIES = [
    # (kind, what the message names, request body); a field is named in quotes
    (PAYOUT, "a JSON object", []),
    (PAYOUT, "a JSON object", "payout"),
    (PAYOUT, "a JSON object", None),
    (PAYOUT, "foo", body(PAYOUT, foo=1)),
    (REFUND, "card_number", body(REFUND, card_number="4242424242424242")),
    (PAYOUT, "authorization_id", body(PAYOUT, authorization_id="auth_1")),
    (AUTHORIZATION, "reference", {**body(AUTHORIZATION), "reference": ""}),
    (AUTHORIZATION, "reference", {**body(AUTHORIZATION), "reference": 5}),
    (AUTHORIZATION, "reference", {**body(AUTHORIZATION), "reference": None}),
    (AUTHORIZATION, "reference", {**body(AUTHORIZATION), "reference": "r" * 256}),
    (REFUND, "reference", {k: v for k, v in body(REFUND).items() if k != "reference"}),
    (PAYOUT, "amount", body(PAYOUT, amount=0)),
    (PAYOUT, "amount", body(PAYOUT, amount=-1)),
    (PAYOUT, "amount", body(PAYOUT, amount=True)),
    (PAYOUT, "amount", body(PAYOUT, amount=1.5)),
    (PAYOUT, "amount", body(PAYOUT, amount=100.0)),
    (PAYOUT, "amount", body(PAYOUT, amount="100")),
    (PAYOUT, "amount", body(PAYOUT, amount=AMOUNT_MAX + 1)),
    (AUTHORIZATION, "amount", {k: v for k, v in body(AUTHORIZATION).items() if k != "amount"}),
    (REFUND, "currency", body(REFUND, currency="USD")),
    (REFUND, "currency", body(REFUND, currency="us")),
    (REFUND, "currency", body(REFUND, currency="usdd")),
    (REFUND, "currency", body(REFUND, currency="usd\n")),
    (REFUND, "currency", body(REFUND, currency="\u00fcsd")),
    (REFUND, "currency", body(REFUND, currency=840)),
    (PAYOUT, "not_after_ms", body(PAYOUT, not_after_ms=str(FUTURE_MS))),
    (PAYOUT, "not_after_ms", body(PAYOUT, not_after_ms=float(FUTURE_MS))),
    (PAYOUT, "not_after_ms", body(PAYOUT, not_after_ms=True)),
    (PAYOUT, "not_after_ms", body(PAYOUT, not_after_ms=None)),
    (AUTHORIZATION, "card_number", body(AUTHORIZATION, card_number=FULLWIDTH_CARD)),
    (AUTHORIZATION, "card_number", body(AUTHORIZATION, card_number="42424242424")),
    (AUTHORIZATION, "card_number", body(AUTHORIZATION, card_number="4" * 20)),
    (AUTHORIZATION, "card_number", body(AUTHORIZATION, card_number="42424242424242a2")),
    (AUTHORIZATION, "card_number", body(AUTHORIZATION, card_number=" 4242424242424242")),
    (AUTHORIZATION, "card_number", body(AUTHORIZATION, card_number="4242424242424242\n")),
    (AUTHORIZATION, "card_number", body(AUTHORIZATION, card_number=4242424242424242)),
    (AUTHORIZATION, "card_number", {"reference": "r", "amount": 1, "currency": "usd",
                                    "not_after_ms": FUTURE_MS}),
    (REFUND, "authorization_id", body(REFUND, authorization_id="")),
    (REFUND, "authorization_id", body(REFUND, authorization_id=12)),
    (REFUND, "authorization_id", {k: v for k, v in body(REFUND).items()
                                  if k != "authorization_id"}),
]  # fmt: skip


@pytest.mark.parametrize(("kind", "named", "payload"), BAD_BODIES)
def test_a_bad_request_is_refused_naming_the_field_and_moves_nothing(
    tmp_path, kind, named, payload
):
    database = tmp_path / "network.sqlite"
    status, answer = simulate(database, lambda client: post(client, kind, payload))
    assert status == 400
    quoted = named if named == "a JSON object" else f"'{named}'"
    assert quoted in answer["error"]["message"]
    assert stored_rows(database) == []


def test_fullwidth_digits_pass_isdigit_but_not_the_card_number_check(tmp_path):
    assert FULLWIDTH_CARD.isdigit()
    sent = body(AUTHORIZATION, card_number=FULLWIDTH_CARD)
    status, answer = simulate(tmp_path / "n.sqlite", lambda c: post(c, AUTHORIZATION, sent))
    assert status == 400
    assert "'card_number'" in answer["error"]["message"]


@pytest.mark.parametrize(
    "raw",
    [b"{", b"", b'{"reference": "\xff"}', b'{"reference": NaN', b"[" * 100_000],
    ids=["truncated", "empty", "not-utf8", "unfinished", "deeply-nested"],
)
def test_malformed_json_is_refused(tmp_path, raw):
    async def scenario(client):
        response = await client.post(PATHS[PAYOUT], data=raw)
        return response.status, await response.json()

    status, answer = simulate(tmp_path / "n.sqlite", scenario)
    assert status == 400
    assert "JSON" in answer["error"]["message"]


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ({"after_seq": "-1"}, "after_seq"),
        ({"after_seq": "abc"}, "after_seq"),
        ({"after_seq": "1.5"}, "after_seq"),
        ({"after_seq": " 1"}, "after_seq"),
        ({"after_seq": "\uff11"}, "after_seq"),  # fullwidth 1: int() would take it
        ({"after_seq": str(2**63)}, "after_seq"),
        ({"limit": "0"}, "limit"),
        ({"limit": "1001"}, "limit"),
        ({"limit": "x"}, "limit"),
        ({"limit": ""}, "limit"),
        ({"reference": ""}, "reference"),
        ({"reference": "r", "limit": "5"}, "limit"),
        ({"page": "2"}, "page"),
    ],
)
def test_a_bad_listing_is_refused_naming_the_parameter(tmp_path, query, named):
    status, answer = simulate(tmp_path / "n.sqlite", lambda client: get(client, REFUND, **query))
    assert status == 400
    assert f"'{named}'" in answer["error"]["message"]


def test_a_repeated_query_parameter_is_refused(tmp_path):
    async def scenario(client):
        response = await client.get(f"{PATHS[PAYOUT]}?limit=1&limit=2")
        return response.status, await response.json()

    status, answer = simulate(tmp_path / "n.sqlite", scenario)
    assert status == 400
    assert "'limit'" in answer["error"]["message"]


def test_health_and_the_store_mode(tmp_path):
    database = tmp_path / "network.sqlite"

    async def scenario(client):
        response = await client.get("/health")
        return response.status, await response.json()

    assert simulate(database, scenario) == (200, {"status": "ok"})
    connection = sqlite3.connect(database)
    try:
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    finally:
        connection.close()
