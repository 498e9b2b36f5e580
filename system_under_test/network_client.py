"""The SUT's client for the card network: authorize once, resolve unknowns by look-up."""

import asyncio
import enum
from dataclasses import dataclass

import aiohttp


class Outcome(enum.StrEnum):
    APPROVED = "approved"
    DECLINED = "declined"
    # The network refused it as too late: no money moved.
    EXPIRED = "expired"
    # A look-up found no authorization for the reference: none was ever received.
    NOT_FOUND = "not_found"
    # Timeout, reset or 5xx: the authorization may or may not have been received.
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class NetworkAnswer:
    """What the network said, or UNKNOWN with the reason it said nothing usable."""

    outcome: Outcome
    authorization_id: str | None = None
    decline_code: str | None = None
    error: str | None = None


class CardNetworkClient:
    """Calls to the card network, each bounded by `timeout_s`."""

    def __init__(self, base_url: str, *, timeout_s: float) -> None:
        self._base_url = base_url
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> "CardNetworkClient":
        self._session = aiohttp.ClientSession(timeout=self._timeout)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._session is not None
        await self._session.close()

    async def _call(self, method: str, path: str, **kwargs: object) -> tuple[int, dict] | str:
        assert self._session is not None
        try:
            async with self._session.request(method, self._base_url + path, **kwargs) as response:
                body = await response.json(content_type=None)
                return response.status, body
        except TimeoutError:
            return "timeout"
        except (aiohttp.ClientError, ValueError, asyncio.IncompleteReadError) as error:
            return f"{type(error).__name__}: {error}"

    async def authorize(
        self, *, reference: str, card_number: str, amount: int, currency: str, not_after_ms: int
    ) -> NetworkAnswer:
        """Send one authorization; never retried here (the network does not deduplicate)."""
        result = await self._call(
            "POST",
            "/v1/authorizations",
            json={
                "reference": reference,
                "card_number": card_number,
                "amount": amount,
                "currency": currency,
                "not_after_ms": not_after_ms,
            },
        )
        if isinstance(result, str):
            return NetworkAnswer(Outcome.UNKNOWN, error=result)
        status, body = result
        if status != 200:
            return NetworkAnswer(Outcome.UNKNOWN, error=f"http_{status}")
        return NetworkAnswer(
            Outcome(body["outcome"]),
            authorization_id=body["id"],
            decline_code=body.get("decline_code"),
        )

    async def look_up(self, reference: str) -> NetworkAnswer:
        """The outcome of every authorization the network received for `reference`."""
        result = await self._call("GET", "/v1/authorizations", params={"reference": reference})
        if isinstance(result, str):
            return NetworkAnswer(Outcome.UNKNOWN, error=result)
        status, body = result
        if status != 200:
            return NetworkAnswer(Outcome.UNKNOWN, error=f"http_{status}")
        records = body["data"]
        for wanted in (Outcome.APPROVED, Outcome.DECLINED):
            for record in records:
                if record["outcome"] == wanted:
                    return NetworkAnswer(
                        wanted,
                        authorization_id=record["id"],
                        decline_code=record.get("decline_code"),
                    )
        return NetworkAnswer(Outcome.NOT_FOUND)
