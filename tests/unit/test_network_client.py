"""CardNetworkClient against the simulator, and against networks that fail to answer."""

import asyncio
import contextlib
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypeVar

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from system_under_test.externals.network import make_app
from system_under_test.network_client import (
    DEFINITIVE_OUTCOMES,
    CardNetworkClient,
    MovementKind,
    NetworkAnswer,
    Outcome,
)

Result = TypeVar("Result")

AUTHORIZATION, REFUND, PAYOUT = MovementKind.AUTHORIZATION, MovementKind.REFUND, MovementKind.PAYOUT
FUTURE_MS = time.time_ns() // 1_000_000 + 3_600_000
PAST_MS = 1
TIMEOUT_S = 5.0

APPROVE, DECLINE, SHORT_OF_FUNDS = "4242424242424242", "4000000000000002", "4000000000009995"


def run(scenario: Callable[[], Awaitable[Result]]) -> Result:
    """Run one async scenario to its end (pytest-asyncio is not installed)."""
    return asyncio.run(scenario())


@contextlib.asynccontextmanager
async def serving(app: web.Application) -> AsyncIterator[str]:
    """`app` on a loopback port; yields its base URL."""
    async with TestServer(app) as server:
        yield str(server.make_url(""))


@contextlib.asynccontextmanager
async def network_at(base_url: str, timeout_s: float = TIMEOUT_S) -> AsyncIterator:
    async with CardNetworkClient(base_url, timeout_s=timeout_s) as network:
        yield network


async def authorize(network: CardNetworkClient, reference: str, card: str, not_after_ms: int):
    return await network.send(
        AUTHORIZATION,
        reference=reference,
        fields={"card_number": card, "amount": 900, "currency": "eur"},
        not_after_ms=not_after_ms,
    )


def test_send_answers_each_outcome_with_the_record_id(tmp_path):
    async def scenario():
        async with serving(make_app(tmp_path / "n.sqlite")) as url, network_at(url) as network:
            return [
                await authorize(network, "ch_1", APPROVE, FUTURE_MS),
                await authorize(network, "ch_2", SHORT_OF_FUNDS, FUTURE_MS),
                await authorize(network, "ch_3", APPROVE, PAST_MS),
            ]

    approved, declined, expired = run(scenario)
    assert approved.outcome is Outcome.APPROVED
    assert approved.record_id.startswith("auth_")
    assert (approved.decline_code, approved.error) == (None, None)
    assert (declined.outcome, declined.decline_code) == (Outcome.DECLINED, "insufficient_funds")
    assert (expired.outcome, expired.decline_code) == (Outcome.EXPIRED, None)
    assert {approved.outcome, declined.outcome, expired.outcome} <= DEFINITIVE_OUTCOMES


def test_send_posts_the_reference_deadline_and_fields_of_each_kind(tmp_path):
    database = tmp_path / "n.sqlite"
    sends = [
        (AUTHORIZATION, "ch_1", {"card_number": APPROVE, "amount": 100, "currency": "usd"}),
        (REFUND, "re_1", {"authorization_id": "auth_x", "amount": 40, "currency": "usd"}),
        (PAYOUT, "po_1", {"amount": 60, "currency": "gbp"}),
    ]

    async def scenario():
        async with serving(make_app(database)) as url, network_at(url) as network:
            return [
                await network.send(kind, reference=reference, fields=fields, not_after_ms=FUTURE_MS)
                for kind, reference, fields in sends
            ]

    answers = run(scenario)
    assert [answer.outcome for answer in answers] == [Outcome.APPROVED] * 3
    connection = sqlite3.connect(database)
    try:
        rows = connection.execute(
            "SELECT id, kind, reference, amount, currency, card_last4, authorization_id"
            " FROM movements ORDER BY seq"
        ).fetchall()
    finally:
        connection.close()
    assert rows == [
        (answers[0].record_id, "authorization", "ch_1", 100, "usd", "4242", None),
        (answers[1].record_id, "refund", "re_1", 40, "usd", None, "auth_x"),
        (answers[2].record_id, "payout", "po_1", 60, "gbp", None, None),
    ]


def test_fields_may_not_override_the_reference_or_deadline():
    async def scenario():
        async with network_at("http://127.0.0.1:9") as network:
            await network.send(
                PAYOUT, reference="po_1", fields={"reference": "other"}, not_after_ms=FUTURE_MS
            )

    with pytest.raises(AssertionError, match="reference"):
        run(scenario)


def test_fields_must_be_those_of_the_kind():
    async def scenario():
        async with network_at("http://127.0.0.1:9") as network:
            await network.send(
                PAYOUT,
                reference="po_1",
                fields={"amount": 5, "currency": "usd", "card_number": APPROVE},
                not_after_ms=FUTURE_MS,
            )

    with pytest.raises(AssertionError, match="a payout takes"):
        run(scenario)


# Each sent in order for one reference: (card, deadline).
SENT_APPROVED = (APPROVE, FUTURE_MS)
SENT_DECLINED = (DECLINE, FUTURE_MS)
SENT_SHORT = (SHORT_OF_FUNDS, FUTURE_MS)
SENT_EXPIRED = (APPROVE, PAST_MS)


@pytest.mark.parametrize(
    ("sent", "outcome", "answering_index", "decline_code"),
    [
        ([], Outcome.NOT_FOUND, None, None),
        ([SENT_EXPIRED], Outcome.EXPIRED, 0, None),
        ([SENT_EXPIRED, SENT_DECLINED], Outcome.DECLINED, 1, "generic_decline"),
        ([SENT_DECLINED, SENT_EXPIRED], Outcome.DECLINED, 0, "generic_decline"),
        ([SENT_SHORT, SENT_DECLINED], Outcome.DECLINED, 0, "insufficient_funds"),
        ([SENT_EXPIRED, SENT_DECLINED, SENT_APPROVED], Outcome.APPROVED, 2, None),
        ([SENT_APPROVED, SENT_DECLINED, SENT_EXPIRED], Outcome.APPROVED, 0, None),
        ([SENT_DECLINED, SENT_APPROVED, SENT_APPROVED], Outcome.APPROVED, 1, None),
    ],
)
def test_look_up_prefers_approved_over_declined_over_expired(
    tmp_path, sent, outcome, answering_index, decline_code
):
    async def scenario():
        async with serving(make_app(tmp_path / "n.sqlite")) as url, network_at(url) as network:
            answers = [await authorize(network, "ch_1", card, ms) for card, ms in sent]
            # Another reference's approval must not leak into this one's answer.
            await authorize(network, "ch_other", APPROVE, FUTURE_MS)
            return answers, await network.look_up(AUTHORIZATION, "ch_1")

    answers, looked_up = run(scenario)
    assert looked_up.outcome is outcome
    expected_id = None if answering_index is None else answers[answering_index].record_id
    assert (looked_up.record_id, looked_up.decline_code) == (expected_id, decline_code)


def test_look_up_keeps_kinds_apart(tmp_path):
    async def scenario():
        async with serving(make_app(tmp_path / "n.sqlite")) as url, network_at(url) as network:
            refund = await network.send(
                REFUND,
                reference="shared",
                fields={"authorization_id": "auth_1", "amount": 5, "currency": "usd"},
                not_after_ms=FUTURE_MS,
            )
            return refund, {kind: await network.look_up(kind, "shared") for kind in MovementKind}

    refund, looked_up = run(scenario)
    assert looked_up[REFUND] == NetworkAnswer(Outcome.APPROVED, record_id=refund.record_id)
    assert looked_up[AUTHORIZATION].outcome is Outcome.NOT_FOUND
    assert looked_up[PAYOUT].outcome is Outcome.NOT_FOUND


def failing_app(respond: Callable[[], web.StreamResponse], calls: list[str]) -> web.Application:
    """An app answering every request with `respond()`, noting each request in `calls`."""

    async def handle(request: web.Request) -> web.StreamResponse:
        calls.append(f"{request.method} {request.path}")
        return respond()

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    return app


async def both_calls(url: str, timeout_s: float = TIMEOUT_S) -> list[NetworkAnswer]:
    async with network_at(url, timeout_s) as network:
        sent = await authorize(network, "ch_1", APPROVE, FUTURE_MS)
        return [sent, await network.look_up(AUTHORIZATION, "ch_1")]


@pytest.mark.parametrize(
    ("respond", "error_part"),
    [
        (lambda: web.Response(status=500, text="boom"), "http_500"),
        (lambda: web.Response(status=503), "http_503"),
        (lambda: web.Response(status=200, text="not json"), "unparsable"),
        (lambda: web.json_response({"id": "auth_1", "outcome": "maybe"}), "unparsable"),
        (lambda: web.json_response({"outcome": "approved"}), "unparsable"),
        (lambda: web.json_response([1, 2]), "unparsable"),
    ],
    ids=["500", "503", "not-json", "bad-outcome", "no-id", "not-an-object"],
)
def test_an_answer_that_says_nothing_usable_is_unknown_and_not_retried(respond, error_part):
    calls: list[str] = []

    async def scenario():
        async with serving(failing_app(respond, calls)) as url:
            return await both_calls(url)

    for answer in run(scenario):
        assert answer.outcome is Outcome.UNKNOWN
        assert error_part in answer.error
        assert answer.outcome not in DEFINITIVE_OUTCOMES
    assert calls == ["POST /v1/authorizations", "GET /v1/authorizations"]


def test_a_listing_with_an_unreadable_record_is_unknown():
    listing = {"data": [{"id": "auth_1", "outcome": "approved"}, {"id": 7, "outcome": "x"}]}

    async def scenario():
        app = failing_app(lambda: web.json_response(listing), [])
        async with serving(app) as url, network_at(url) as network:
            return await network.look_up(AUTHORIZATION, "ch_1")

    answer = run(scenario)
    assert (answer.outcome, answer.record_id) == (Outcome.UNKNOWN, None)


@pytest.mark.parametrize("read_head", [True, False], ids=["after-head", "after-request-line"])
def test_a_dropped_connection_is_unknown_and_a_send_is_not_resent(read_head):
    request_lines: list[bytes] = []

    async def drop(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request_lines.append((await reader.readline()).split(b" ")[0])
        if read_head:
            await reader.readuntil(b"\r\n\r\n")
        writer.close()

    async def scenario():
        server = await asyncio.start_server(drop, "127.0.0.1", 0)
        async with server:
            host, port = server.sockets[0].getsockname()[:2]
            return await both_calls(f"http://{host}:{port}")

    for answer in run(scenario):
        assert answer.outcome is Outcome.UNKNOWN
        assert answer.error
    # aiohttp itself may retry the idempotent look-up once on a fresh connection; a second
    # POST would be a second movement at a network that does not deduplicate.
    assert request_lines.count(b"POST") == 1
    assert 1 <= request_lines.count(b"GET") <= 2


def test_a_refused_connection_is_unknown():
    async def scenario():
        server = await asyncio.start_server(lambda reader, writer: None, "127.0.0.1", 0)
        host, port = server.sockets[0].getsockname()[:2]
        server.close()
        await server.wait_closed()
        return await both_calls(f"http://{host}:{port}")

    for answer in run(scenario):
        assert answer.outcome is Outcome.UNKNOWN
        assert answer.error


def test_a_call_is_bounded_by_the_timeout():
    async def scenario():
        release = asyncio.Event()

        async def stall(request: web.Request) -> web.Response:
            await release.wait()
            return web.json_response({"id": "auth_1", "outcome": "approved"})

        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", stall)
        async with serving(app) as url:
            try:
                started = time.monotonic()
                answers = await both_calls(url, timeout_s=0.05)
                return answers, time.monotonic() - started
            finally:
                release.set()

    answers, elapsed_s = run(scenario)
    assert [answer.outcome for answer in answers] == [Outcome.UNKNOWN, Outcome.UNKNOWN]
    assert [answer.error for answer in answers] == ["timeout", "timeout"]
    assert elapsed_s < 2.0
