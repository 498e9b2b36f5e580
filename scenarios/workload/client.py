"""Workload clients: each turns planned charges into history ops (invoke, then ok/fail/info).

A result the client cannot know (timeout, reset, 5xx, key in use) is `info`: the charge may or
may not have happened. The process that saw it is retired, and the retry with the same key is
a new op by a new process, as in Jepsen.
"""

import asyncio
import random
from dataclasses import dataclass
from typing import Any

import aiohttp

from scenarios.event_log import EventLog, RunClock
from scenarios.scenario import RetryPolicy
from scenarios.workload.plan import PlannedCharge


@dataclass(frozen=True)
class Completion:
    type: str  # "ok" | "fail" | "info"
    value: dict[str, Any] | None
    error: str | None


def classify(status: int, body: object, replayed: bool) -> Completion:
    """The history completion for one HTTP answer to POST /v1/charges (no I/O).

    >>> classify(402, {"error": {"code": "card_declined", "decline_code": "generic_decline",
    ...                          "charge": "ch_1"}}, False).error
    'generic_decline'
    """
    payload = body if isinstance(body, dict) else {}
    if status == 200 and payload.get("status") == "succeeded":
        return Completion(
            "ok",
            {
                "charge_id": payload.get("id"),
                "status": "succeeded",
                "amount": payload.get("amount"),
                "replayed": replayed,
            },
            None,
        )
    error = payload.get("error") if isinstance(payload.get("error"), dict) else {}
    code = error.get("decline_code") or error.get("code") or error.get("type")
    if status == 409 or status >= 500 or status == 200:
        # 200 without `succeeded` would be a pending charge: its outcome is not known yet.
        return Completion("info", {"http_status": status}, code or f"http_{status}")
    return Completion(
        "fail",
        {
            "charge_id": error.get("charge"),
            "status": "failed" if status == 402 else None,
            "http_status": status,
        },
        code or f"http_{status}",
    )


class ChargeClient:
    """One workload client: a sequence of planned charges, one outstanding op at a time."""

    def __init__(
        self,
        *,
        client: int,
        api_url: str,
        api_keys: list[str],
        merchants: list[str],
        currency: str,
        retry: RetryPolicy,
        request_timeout_s: float,
        history: EventLog,
        clock: RunClock,
        clients: int,
        seed: int,
    ) -> None:
        self.process = client
        self._api_url = api_url
        self._api_keys = api_keys
        self._merchants = merchants
        self._currency = currency
        self._retry = retry
        self._timeout = aiohttp.ClientTimeout(total=request_timeout_s)
        self._history = history
        self._clock = clock
        self._clients = clients
        self._jitter = random.Random(f"{seed}:jitter:{client}")

    async def run(self, plan: list[PlannedCharge], started_at_s: float) -> None:
        """Run every planned charge at its due time (or as soon as the previous one ends)."""
        async with aiohttp.ClientSession(timeout=self._timeout) as session:
            for charge in plan:
                delay_s = started_at_s + charge.due_s - self._clock.now_s()
                if delay_s > 0:
                    await asyncio.sleep(delay_s)
                await self._charge(session, charge)

    async def _charge(self, session: aiohttp.ClientSession, charge: PlannedCharge) -> None:
        for attempt in range(1, self._retry.attempts_max + 1):
            completion = await self._attempt(session, charge, attempt)
            if completion.type != "info":
                return
            # Jepsen's numbering: retired process p is succeeded by p + clients.
            self.process += self._clients
            if attempt < self._retry.attempts_max:
                await asyncio.sleep(self._backoff_s(attempt))

    def _backoff_s(self, attempt: int) -> float:
        ceiling = min(self._retry.backoff_max_s, self._retry.backoff_s * 2 ** (attempt - 1))
        return ceiling / 2 + self._jitter.uniform(0, ceiling / 2)

    async def _attempt(
        self, session: aiohttp.ClientSession, charge: PlannedCharge, attempt: int
    ) -> Completion:
        self._history.append(
            {
                "process": self.process,
                "type": "invoke",
                "f": "charge",
                "key": charge.key,
                "value": {
                    "merchant": self._merchants[charge.merchant_index],
                    "amount": charge.amount,
                    "currency": self._currency,
                    "card": charge.card,
                    "attempt": attempt,
                },
                "error": None,
            }
        )
        completion = await self._post(session, charge)
        self._history.append(
            {
                "process": self.process,
                "type": completion.type,
                "f": "charge",
                "key": charge.key,
                "value": completion.value,
                "error": completion.error,
            }
        )
        return completion

    async def _post(self, session: aiohttp.ClientSession, charge: PlannedCharge) -> Completion:
        headers = {
            "Authorization": f"Bearer {self._api_keys[charge.merchant_index]}",
            "Idempotency-Key": charge.key,
        }
        form = {"amount": str(charge.amount), "currency": self._currency, "source": charge.card}
        try:
            async with session.post(
                f"{self._api_url}/v1/charges", data=form, headers=headers
            ) as response:
                body = await response.json(content_type=None)
                replayed = response.headers.get("Idempotent-Replayed") == "true"
                return classify(response.status, body, replayed)
        except TimeoutError:
            return Completion("info", None, "timeout")
        except (aiohttp.ClientError, ValueError) as error:
            return Completion("info", None, f"connection_error: {type(error).__name__}")
