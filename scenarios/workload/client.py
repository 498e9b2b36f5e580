"""Workload clients: each turns its planned ops into history ops (invoke, then ok/fail/info).

A process whose op ended `info` is retired, and a retry of a write is a new op by a new
process, as in Jepsen. A planned write is sent by one lane (mode backoff) or by
`concurrency_multiple` lanes at once (modes storm and careless), each lane an op of its own
process (numbering in `scenarios.workload.retry`). Every attempt's invoke names the planned
write it belongs to (`payment`: the planned key), so a careless client's attempts under new
keys stay one logical payment. The first acknowledged attempt is read back at once, by the
same process, so that a later checker can tell whether the acknowledgement was visible.
"""

import asyncio
import random
from typing import Any

import aiohttp

from scenarios.event_log import EventLog, RunClock
from scenarios.scenario import Workload
from scenarios.workload.api import BALANCE_PATH, WRITE_PATHS, object_path
from scenarios.workload.classify import (
    WRITE_KINDS,
    Completion,
    classify_balance,
    classify_read,
    classify_write,
)
from scenarios.workload.plan import PlannedOp
from scenarios.workload.retry import PlannedWrite, ProcessNumbers


class WorkloadClient:
    """One workload client: its planned ops in order, each done before the next starts (a
    write's concurrent attempts in a storm are still one planned op)."""

    def __init__(
        self,
        *,
        client: int,
        api_url: str,
        api_keys: list[str],
        merchants: list[str],
        workload: Workload,
        history: EventLog,
        clock: RunClock,
        seed: int,
    ) -> None:
        self._processes = ProcessNumbers(
            client=client, clients=workload.clients, lanes=workload.retry.concurrency_multiple
        )
        self._api_url = api_url
        self._api_keys = api_keys
        self._merchants = merchants
        self._workload = workload
        self._timeout = aiohttp.ClientTimeout(total=workload.attempt_timeout_s)
        self._history = history
        self._clock = clock
        self._jitter = random.Random(f"{seed}:jitter:{client}")
        # Key of each planned charge that ended ok -> its charge id (what refunds refund).
        self._charge_ids: dict[str, str] = {}

    async def run(self, plan: list[PlannedOp], started_at_s: float) -> None:
        """Run every planned op at its due time (or as soon as the previous one ends)."""
        async with aiohttp.ClientSession(timeout=self._timeout) as session:
            for op in plan:
                delay_s = started_at_s + op.due_s - self._clock.now_s()
                if delay_s > 0:
                    await asyncio.sleep(delay_s)
                if op.kind == "balance":
                    await self._balance(session, op)
                else:
                    await self._write(session, op)

    def _headers(self, op: PlannedOp) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._api_keys[op.merchant_index]}"}

    async def _write(self, session: aiohttp.ClientSession, op: PlannedOp) -> None:
        request = self._write_request(op)
        if request is None:
            return
        invoke_value, form = request
        write = PlannedWrite(op.key, self._workload.retry)
        async with asyncio.TaskGroup() as group:
            for lane in range(self._processes.lanes):
                group.create_task(self._lane(session, lane, op, write, invoke_value, form))

    async def _lane(
        self,
        session: aiohttp.ClientSession,
        lane: int,
        op: PlannedOp,
        write: PlannedWrite,
        invoke_value: dict[str, Any],
        form: dict[str, str],
    ) -> None:
        """Send attempts of `write` one after another until it has no attempt left for us."""
        while (attempt := write.next_attempt()) is not None:
            value = invoke_value | {"payment": write.payment, "attempt": attempt.number}
            completion = await self._op(
                lane, op.kind, attempt.key, value, self._post(session, op, attempt.key, form)
            )
            if write.settle(completion.type) and completion.type == "ok":
                await self._acknowledged(session, lane, op, attempt.key, completion)
            if completion.type != "info":
                return
            self._processes.retire(lane)
            if not write.finished:
                await asyncio.sleep(write.pause_s(attempt.number, self._jitter))

    def _write_request(self, op: PlannedOp) -> tuple[dict[str, Any], dict[str, str]] | None:
        """The invoke value and form of a write; None for a refund of a charge that did not
        end ok (nothing to refund, so no op)."""
        merchant = self._merchants[op.merchant_index]
        currency = self._workload.currency
        if op.kind == "charge":
            assert op.amount is not None and op.card is not None
            value = {
                "merchant": merchant,
                "amount": op.amount,
                "currency": currency,
                "card": op.card,
            }
            form = {"amount": str(op.amount), "currency": currency, "source": op.card}
            return value, form
        if op.kind == "payout":
            assert op.amount is not None
            value = {"merchant": merchant, "amount": op.amount, "currency": currency}
            return value, {"amount": str(op.amount), "currency": currency}
        assert op.kind == "refund" and op.refund_of is not None
        charge_id = self._charge_ids.get(op.refund_of)
        if charge_id is None:
            return None
        value = {
            "merchant": merchant,
            "charge_id": charge_id,
            "amount": op.amount,
            "currency": currency,
        }
        form = {"charge": charge_id}
        if op.amount is not None:
            form["amount"] = str(op.amount)
        return value, form

    async def _post(
        self, session: aiohttp.ClientSession, op: PlannedOp, key: str, form: dict[str, str]
    ) -> Completion:
        headers = self._headers(op) | {"Idempotency-Key": key}
        url = f"{self._api_url}{WRITE_PATHS[op.kind]}"
        try:
            async with session.post(url, data=form, headers=headers) as response:
                body = await response.json(content_type=None)
                replayed = response.headers.get("Idempotent-Replayed") == "true"
                completion = classify_write(op.kind, response.status, body, replayed)
        except TimeoutError:
            return Completion("info", None, "timeout")
        except (aiohttp.ClientError, ValueError) as error:
            return Completion("info", None, f"connection_error: {type(error).__name__}")
        return completion

    async def _acknowledged(
        self,
        session: aiohttp.ClientSession,
        lane: int,
        op: PlannedOp,
        key: str,
        written: Completion,
    ) -> None:
        """The planned write's first ok: remember a charge (for its refunds), read it back."""
        assert written.value is not None, "an ok carries a value"
        object_id = written.value[WRITE_KINDS[op.kind][0]]
        if op.kind == "charge":
            self._charge_ids[op.key] = object_id
        if not self._workload.read_back:
            return
        value = {"merchant": self._merchants[op.merchant_index], "object": op.kind, "id": object_id}
        url = f"{self._api_url}{object_path(op.kind, object_id)}"
        completion = await self._op(
            lane, "read", key, value, self._get(session, op, url, classify_read)
        )
        if completion.type == "info":
            self._processes.retire(lane)

    async def _balance(self, session: aiohttp.ClientSession, op: PlannedOp) -> None:
        value = {"merchant": self._merchants[op.merchant_index]}
        url = f"{self._api_url}{BALANCE_PATH}"
        # A balance read is one request, sent by the client's first lane.
        completion = await self._op(
            0, "balance", op.key, value, self._get(session, op, url, classify_balance)
        )
        if completion.type == "info":
            self._processes.retire(0)

    async def _get(
        self, session: aiohttp.ClientSession, op: PlannedOp, url: str, classify
    ) -> Completion:
        try:
            async with session.get(url, headers=self._headers(op)) as response:
                return classify(response.status, await response.json(content_type=None))
        except TimeoutError:
            return Completion("info", None, "timeout")
        except (aiohttp.ClientError, ValueError) as error:
            return Completion("info", None, f"connection_error: {type(error).__name__}")

    async def _op(self, lane: int, f: str, key: str, value: dict[str, Any], call) -> Completion:
        """Record the invoke by the lane's process, await the call, record its completion."""
        process = self._processes.process(lane)
        self._history.append(
            {
                "process": process,
                "type": "invoke",
                "f": f,
                "key": key,
                "value": value,
                "error": None,
            }
        )
        completion = await call
        self._history.append(
            {
                "process": process,
                "type": completion.type,
                "f": f,
                "key": key,
                "value": completion.value,
                "error": completion.error,
            }
        )
        return completion
