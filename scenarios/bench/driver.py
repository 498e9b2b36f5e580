"""The open-loop load driver: sends each planned request at its due time, whatever the earlier
ones did, and measures its latency from that due time (so a stall of the system or of this
driver shows in the latency of every request it delayed).

Every request carries its own Idempotency-Key and is sent once: a retry would be a second
request at a time the plan did not choose.
"""

import asyncio
import json
from collections import defaultdict, deque
from dataclasses import dataclass
from http import HTTPStatus

from invariants.api_answers import CARD_FAILURE_STATUS
from scenarios.bench.http import HttpClient, HttpError
from scenarios.bench.schedule import Planned, StepPlan
from scenarios.workload.api import WRITE_PATHS

# One request's bound: far above any healthy answer (a network timeout plus database work),
# short enough that an overloaded step still ends.
REQUEST_TIMEOUT_S = 10.0
# Connections the driver keeps to the API at most. More than the SUT's concurrency at the
# highest offered rate (580/s at 100 ms is 58 in flight); beyond it requests queue in the driver,
# still timed from their due time.
CONNECTIONS_MAX = 256
# Requests in flight at most; beyond it a request is not sent and counts as an error, so a
# stalled system cannot make the driver's memory grow without bound (800/s for 10 s is 8,000).
IN_FLIGHT_MAX = 10_000
# Charges kept per merchant for later refunds: each refund takes one, so refunds do not queue
# on one charge's row lock.
REFUNDABLE_MAX = 5_000
# How a definitive answer is named, by kind and status; anything else is an error.
DEFINITIVE = {
    ("charge", HTTPStatus.OK): "ok",
    ("charge", CARD_FAILURE_STATUS): "declined",
    ("refund", HTTPStatus.OK): "ok",
    ("payout", HTTPStatus.OK): "ok",
}
REFUSED_STATUS = HTTPStatus.BAD_REQUEST
NO_CHARGE_TO_REFUND = "no_charge_to_refund"


@dataclass(frozen=True)
class Sample:
    """What became of one planned request."""

    kind: str
    due_s: float
    # From the due time to the end of the answer (or of the failure).
    latency_s: float
    # "ok", "declined", "refused" (a 400: balance, amount) or an error: http_<status>, timeout,
    # connection_error, no_charge_to_refund, driver_overloaded.
    outcome: str


class Driver:
    """Sends planned steps with the merchants' keys; charges it saw succeed are refunded by
    later steps, whichever address they go to."""

    def __init__(self, api_keys: list[str]) -> None:
        self._api_keys = api_keys
        self._refundable: dict[int, deque[str]] = defaultdict(lambda: deque(maxlen=REFUNDABLE_MAX))
        self._clients: dict[str, HttpClient] = {}
        self._in_flight = 0

    async def __aenter__(self) -> "Driver":
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        for client in self._clients.values():
            client.close()
        self._clients.clear()

    def remember_charge(self, merchant_index: int, charge_id: str) -> None:
        """Offer a succeeded charge to later refunds."""
        self._refundable[merchant_index].append(charge_id)

    async def run_step(self, plan: StepPlan, api_url: str) -> list[Sample]:
        """Send every request of `plan` to `api_url` at its due time; returns one sample per
        request once the last one ended (each is bounded by REQUEST_TIMEOUT_S)."""
        api_url = api_url.rstrip("/")
        loop = asyncio.get_running_loop()
        started = loop.time()
        tasks = []
        for planned in plan.requests:
            delay_s = started + planned.due_s - loop.time()
            if delay_s > 0:
                await asyncio.sleep(delay_s)
            tasks.append(asyncio.create_task(self._one(planned, api_url, started)))
        return list(await asyncio.gather(*tasks))

    async def _one(self, planned: Planned, api_url: str, started: float) -> Sample:
        loop = asyncio.get_running_loop()
        form = self._form(planned)
        if form is None:
            outcome = NO_CHARGE_TO_REFUND
        elif self._in_flight >= IN_FLIGHT_MAX:
            outcome = "driver_overloaded"
        else:
            self._in_flight += 1
            try:
                outcome = await self._send(planned, api_url, form)
            finally:
                self._in_flight -= 1
        latency_s = loop.time() - (started + planned.due_s)
        return Sample(planned.kind, planned.due_s, latency_s, outcome)

    def _form(self, planned: Planned) -> dict[str, str] | None:
        if planned.kind == "charge":
            assert planned.card is not None
            return {"amount": str(planned.amount), "currency": "usd", "source": planned.card}
        if planned.kind == "payout":
            return {"amount": str(planned.amount), "currency": "usd"}
        refundable = self._refundable[planned.merchant_index]
        if not refundable:
            return None
        return {"charge": refundable.popleft(), "amount": str(planned.amount)}

    async def _send(self, planned: Planned, api_url: str, form: dict[str, str]) -> str:
        client = self._clients.get(api_url)
        if client is None:
            client = self._clients[api_url] = HttpClient(api_url, connections_max=CONNECTIONS_MAX)
        headers = {
            "Authorization": f"Bearer {self._api_keys[planned.merchant_index]}",
            "Idempotency-Key": planned.key,
        }
        try:
            async with asyncio.timeout(REQUEST_TIMEOUT_S):
                status, body = await client.post_form(WRITE_PATHS[planned.kind], form, headers)
        except TimeoutError:
            return "timeout"
        except (HttpError, OSError):
            return "connection_error"
        outcome = DEFINITIVE.get((planned.kind, status))
        if outcome == "ok" and planned.kind == "charge":
            self.remember_charge(planned.merchant_index, json.loads(body)["id"])
        if outcome is not None:
            return outcome
        return "refused" if status == REFUSED_STATUS else f"http_{status}"
