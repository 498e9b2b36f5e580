"""The wire contract between the payments system and the card network, stated on both sides.

The simulator (externals/network/contract.py) shares no code with the client it judges
(network_client.py); these tests hold the two statements equal, first as data, then by driving
the real simulator with the client's own requests for each kind and outcome.
"""

import asyncio
import dataclasses
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import pytest
from aiohttp.test_utils import TestServer

from scenarios.observe.final_reads import NETWORK_LISTS
from system_under_test import network_client as client
from system_under_test.externals.network import contract, make_app
from system_under_test.externals.network.cards import DECLINES
from system_under_test.externals.network.movements import Movement

Result = TypeVar("Result")

FUTURE_MS = time.time_ns() // 1_000_000 + 3_600_000
PAST_MS = 1
TIMEOUT_S = 5.0
# Approved: a well-formed number the network's table does not decline.
APPROVED_CARD = "4242424242424242"
# One value per field a caller gives; the envelope fields are send's own arguments.
FIELD_VALUES = {
    "card_number": APPROVED_CARD,
    "amount": 700,
    "currency": "usd",
    "authorization_id": "auth_0123456789abcdef01234567",
}


def test_both_sides_name_the_same_movement_kinds():
    assert {str(kind) for kind in client.MovementKind} == {
        str(kind) for kind in contract.MovementKind
    }


def test_both_sides_serve_each_kind_at_the_same_path():
    assert {str(kind): path for kind, path in client.PATHS.items()} == {
        str(kind): path for kind, path in contract.PATHS.items()
    }


def test_the_client_reads_exactly_the_outcomes_the_network_records():
    assert {str(outcome) for outcome in client.RECORDED_OUTCOMES} == {
        str(outcome) for outcome in contract.Outcome
    }


@pytest.mark.parametrize("kind", list(contract.MovementKind))
def test_both_sides_name_the_same_request_fields(kind):
    sent = client.ENVELOPE_FIELDS | client.KIND_FIELDS[client.MovementKind(str(kind))]
    assert sent == set(contract.FIELDS[kind])


def test_the_final_reads_page_through_every_kind_and_read_recorded_fields():
    assert {f"/v1/{name}" for name in NETWORK_LISTS} == set(contract.PATHS.values())
    recorded = {field.name for field in dataclasses.fields(Movement)}
    for _, fields in NETWORK_LISTS.values():
        assert set(fields) <= recorded


Scenario = Callable[[client.CardNetworkClient], Awaitable[Result]]


def run(scenario: Scenario[Result], database: Path) -> Result:
    """`scenario` with a client of a fresh simulator over `database` (in-process, loopback)."""

    async def main() -> Result:
        async with TestServer(make_app(database)) as server:
            base_url = str(server.make_url(""))
            async with client.CardNetworkClient(base_url, timeout_s=TIMEOUT_S) as network:
                return await scenario(network)

    return asyncio.run(main())


def fields_of(kind: client.MovementKind, **changes: object) -> dict[str, object]:
    return {name: FIELD_VALUES[name] for name in client.KIND_FIELDS[kind]} | changes


# (kind, card number or None, deadline, outcome, decline code): every kind in time and late,
# and every card the network's table declines.
CASES = [
    *[
        (str(kind), None, FUTURE_MS, client.Outcome.APPROVED, None)
        for kind in contract.MovementKind
    ],
    *[(str(kind), None, PAST_MS, client.Outcome.EXPIRED, None) for kind in contract.MovementKind],
    *[
        (str(contract.MovementKind.AUTHORIZATION), card, FUTURE_MS, client.Outcome.DECLINED, code)
        for card, code in DECLINES.items()
    ],
]


@pytest.mark.parametrize(("kind", "card", "not_after_ms", "outcome", "decline_code"), CASES)
def test_the_network_answers_the_clients_send_and_look_up_alike(
    tmp_path, kind, card, not_after_ms, outcome, decline_code
):
    kind = client.MovementKind(kind)
    changes = {} if card is None else {"card_number": card}

    async def scenario(network: client.CardNetworkClient):
        sent = await network.send(
            kind,
            reference="ref_1",
            fields=fields_of(kind, **changes),
            not_after_ms=not_after_ms,
        )
        return sent, await network.look_up(kind, "ref_1")

    sent, looked_up = run(scenario, tmp_path / "network.sqlite")
    assert (sent.outcome, sent.decline_code, sent.error) == (outcome, decline_code, None)
    assert looked_up == sent


@pytest.mark.parametrize("kind", list(client.MovementKind))
def test_a_reference_the_network_never_received_is_not_found(tmp_path, kind):
    async def scenario(network: client.CardNetworkClient):
        await network.send(
            kind, reference="ref_sent", fields=fields_of(kind), not_after_ms=FUTURE_MS
        )
        return await network.look_up(kind, "ref_never_sent")

    assert run(scenario, tmp_path / "network.sqlite").outcome is client.Outcome.NOT_FOUND
