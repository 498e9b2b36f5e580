"""The SUT's client for the card network: send each movement once, resolve unknowns by look-up.

Authorizations, refunds and payouts are three kinds of one thing at the network, a money
movement: each is sent once with a reference and a deadline, and its outcome can be asked for
by that reference afterwards.

This module is the payments system's statement of the wire contract (kinds, paths, fields,
recorded outcomes). The network states it on its side too, sharing no code with this system;
tests/unit/test_network_contract.py holds the two statements equal.
"""

import asyncio
import enum
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

import aiohttp


class MovementKind(enum.StrEnum):
    AUTHORIZATION = "authorization"
    REFUND = "refund"
    PAYOUT = "payout"


# The network's resource of each kind.
PATHS: Mapping[MovementKind, str] = MappingProxyType(
    {
        MovementKind.AUTHORIZATION: "/v1/authorizations",
        MovementKind.REFUND: "/v1/refunds",
        MovementKind.PAYOUT: "/v1/payouts",
    }
)
assert set(PATHS) == set(MovementKind), "every movement kind needs a path"


class Outcome(enum.StrEnum):
    APPROVED = "approved"
    DECLINED = "declined"
    # The network refused it as too late: no money moved.
    EXPIRED = "expired"
    # A look-up found no record for the reference: the network never received it.
    NOT_FOUND = "not_found"
    # Timeout, reset, 5xx or an unreadable answer: it may or may not have been received.
    UNKNOWN = "unknown"


# Outcomes that settle a movement for good; only UNKNOWN leaves it to recovery.
DEFINITIVE_OUTCOMES = frozenset(
    {Outcome.APPROVED, Outcome.DECLINED, Outcome.EXPIRED, Outcome.NOT_FOUND}
)

# What the network records for one request, in the order a look-up prefers them: one approved
# record means money moved, whatever else was recorded for the reference.
RECORDED_OUTCOMES = (Outcome.APPROVED, Outcome.DECLINED, Outcome.EXPIRED)

# Request fields the client sets itself: the reference a look-up finds the movement by, and
# the deadline (milliseconds since the epoch) after which the network refuses it as expired.
ENVELOPE_FIELDS = frozenset({"reference", "not_after_ms"})
# The fields a caller gives for each kind, besides the envelope.
KIND_FIELDS: Mapping[MovementKind, frozenset[str]] = MappingProxyType(
    {
        MovementKind.AUTHORIZATION: frozenset({"card_number", "amount", "currency"}),
        MovementKind.REFUND: frozenset({"authorization_id", "amount", "currency"}),
        MovementKind.PAYOUT: frozenset({"amount", "currency"}),
    }
)
assert set(KIND_FIELDS) == set(MovementKind), "every movement kind needs its fields"

# Failures of the link to the network (timeout, refused, reset, dropped mid-answer): the
# request may or may not have been received, so each maps to UNKNOWN.
TRANSPORT_ERRORS = (TimeoutError, aiohttp.ClientError, asyncio.IncompleteReadError, OSError)

# How much of a non-200 answer's body an UNKNOWN answer's error quotes: enough for the
# simulator's one-line error message, little enough for a log line.
ERROR_EXCERPT_BYTES_MAX = 200


@dataclass(frozen=True)
class NetworkAnswer:
    """What the network said, or UNKNOWN with the reason it said nothing usable."""

    outcome: Outcome
    # The network's id of the record the answer comes from (auth_..., nrf_..., npo_...).
    record_id: str | None = None
    decline_code: str | None = None
    error: str | None = None


def answer_from_record(record: object) -> NetworkAnswer:
    """The answer one record of the network gives; UNKNOWN when it is not a record.

    >>> answer = answer_from_record({"id": "auth_1", "outcome": "declined", "decline_code": "x"})
    >>> answer.outcome, answer.record_id, answer.decline_code
    (<Outcome.DECLINED: 'declined'>, 'auth_1', 'x')
    >>> answer_from_record({"id": "auth_1", "outcome": "maybe"}).outcome
    <Outcome.UNKNOWN: 'unknown'>
    """
    if not isinstance(record, dict):
        return NetworkAnswer(Outcome.UNKNOWN, error="unparsable record: not an object")
    record_id, outcome = record.get("id"), record.get("outcome")
    decline_code = record.get("decline_code")
    if not isinstance(record_id, str):
        return NetworkAnswer(Outcome.UNKNOWN, error=f"unparsable record: id {record_id!r}")
    if outcome not in RECORDED_OUTCOMES:
        return NetworkAnswer(Outcome.UNKNOWN, error=f"unparsable record: outcome {outcome!r}")
    if decline_code is not None and not isinstance(decline_code, str):
        return NetworkAnswer(
            Outcome.UNKNOWN, error=f"unparsable record: decline_code {decline_code!r}"
        )
    return NetworkAnswer(Outcome(outcome), record_id=record_id, decline_code=decline_code)


def answer_from_records(records: Sequence[object]) -> NetworkAnswer:
    """The outcome of every record of one reference: approved over declined over expired;
    NOT_FOUND when there is none; UNKNOWN when one is unreadable.

    >>> answer_from_records([]).outcome
    <Outcome.NOT_FOUND: 'not_found'>
    >>> answer_from_records(
    ...     [{"id": "auth_1", "outcome": "expired"}, {"id": "auth_2", "outcome": "approved"}]
    ... ).record_id
    'auth_2'
    """
    answers = [answer_from_record(record) for record in records]
    for answer in answers:
        if answer.outcome is Outcome.UNKNOWN:
            return answer
    for wanted in RECORDED_OUTCOMES:
        for answer in answers:
            if answer.outcome is wanted:
                return answer
    return NetworkAnswer(Outcome.NOT_FOUND)


def _answer_from_listing(body: object) -> NetworkAnswer:
    if not isinstance(body, dict) or not isinstance(body.get("data"), list):
        return NetworkAnswer(Outcome.UNKNOWN, error="unparsable listing: no 'data' list")
    return answer_from_records(body["data"])


class CardNetworkClient:
    """Calls to the card network, each bounded by `timeout_s`; use as an async context manager.

    >>> async def charge(network: CardNetworkClient) -> NetworkAnswer:
    ...     return await network.send(
    ...         MovementKind.AUTHORIZATION, reference="ch_1",
    ...         fields={"card_number": "4242424242424242", "amount": 500, "currency": "usd"},
    ...         not_after_ms=1_700_000_000_000,
    ...     )
    """

    def __init__(self, base_url: str, *, timeout_s: float) -> None:
        self._base_url = base_url.rstrip("/")
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> "CardNetworkClient":
        self._session = aiohttp.ClientSession(timeout=self._timeout)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._session is not None, "exit without enter"
        await self._session.close()

    async def _call(self, method: str, path: str, **kwargs: object) -> object | NetworkAnswer:
        """The JSON body of a 200 answer, or the UNKNOWN answer of any other ending."""
        assert self._session is not None, "use CardNetworkClient as an async context manager"
        try:
            async with self._session.request(method, self._base_url + path, **kwargs) as response:
                content = await response.read()
                status = response.status
        except TimeoutError:
            return NetworkAnswer(Outcome.UNKNOWN, error="timeout")
        except TRANSPORT_ERRORS as error:
            return NetworkAnswer(Outcome.UNKNOWN, error=f"{type(error).__name__}: {error}")
        if status != 200:
            excerpt = content[:ERROR_EXCERPT_BYTES_MAX].decode("utf-8", "replace")
            return NetworkAnswer(Outcome.UNKNOWN, error=f"http_{status}: {excerpt}")
        try:
            return json.loads(content)
        except (ValueError, RecursionError) as error:
            return NetworkAnswer(Outcome.UNKNOWN, error=f"unparsable answer: {error}")

    async def send(
        self,
        kind: MovementKind,
        *,
        reference: str,
        fields: Mapping[str, object],
        not_after_ms: int,
    ) -> NetworkAnswer:
        """POST one movement of `kind`, once: the network does not deduplicate, so a second
        send could move the money twice. (aiohttp's own reconnect-and-retry covers only
        idempotent methods, so it never resends a POST either.)"""
        clashing = ENVELOPE_FIELDS & set(fields)
        assert not clashing, f"fields may not set {sorted(clashing)}: send's arguments do"
        assert set(fields) == KIND_FIELDS[kind], f"a {kind} takes {sorted(KIND_FIELDS[kind])}"
        body = {"reference": reference, "not_after_ms": not_after_ms, **fields}
        result = await self._call("POST", PATHS[kind], json=body)
        if isinstance(result, NetworkAnswer):
            return result
        return answer_from_record(result)

    async def look_up(self, kind: MovementKind, reference: str) -> NetworkAnswer:
        """The outcome of every record of `kind` the network holds for `reference`."""
        result = await self._call("GET", PATHS[kind], params={"reference": reference})
        if isinstance(result, NetworkAnswer):
            return result
        return _answer_from_listing(result)
