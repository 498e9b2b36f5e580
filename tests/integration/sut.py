"""Talking to a live local topology from tests: the API (through its proxy link), its admin
endpoint, the primary and the network simulator (directly)."""

import asyncio
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import asyncpg
import requests

from scenarios.workload.api import WRITE_PATHS
from system_under_test.deploy.topology import Endpoints
from tests.integration.contract import register_api

REQUEST_TIMEOUT_S = 30
# Pages of network records a test reads at most (a thousand records each).
NETWORK_PAGES_MAX = 100


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict
    headers: dict

    @property
    def code(self) -> str | None:
        error = self.body.get("error") or {}
        return error.get("code")


class Sut:
    """A live topology's API, database and network, as tests use them."""

    def __init__(self, endpoints: Endpoints) -> None:
        self.endpoints = endpoints
        register_api(endpoints.api_url)
        register_api(f"http://{endpoints.services['api']}")

    def _headers(self, merchant: int, key: str | None) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.endpoints.merchants[merchant].api_key}"}
        if key is not None:
            headers["Idempotency-Key"] = key
        return headers

    def post(self, kind: str, form: dict, *, key: str | None, merchant: int = 0) -> Answer:
        """POST a charge, refund or payout; a dropped connection raises."""
        response = requests.post(
            f"{self.endpoints.api_url}{WRITE_PATHS[kind]}",
            data=form,
            headers=self._headers(merchant, key),
            timeout=REQUEST_TIMEOUT_S,
        )
        return Answer(response.status_code, response.json(), dict(response.headers))

    def get(self, path: str, *, merchant: int = 0) -> Answer:
        response = requests.get(
            f"{self.endpoints.api_url}{path}",
            headers=self._headers(merchant, None),
            timeout=REQUEST_TIMEOUT_S,
        )
        return Answer(response.status_code, response.json(), dict(response.headers))

    def charge(self, amount: int, *, key: str, merchant: int = 0) -> dict:
        """A charge that must succeed; returns the charge object."""
        answer = self.post(
            "charge",
            {"amount": str(amount), "currency": "usd", "source": "tok_visa"},
            key=key,
            merchant=merchant,
        )
        assert (answer.status, answer.body.get("status")) == (200, "succeeded"), answer
        return answer.body

    def available(self, merchant: int = 0, currency: str = "usd") -> int:
        """The merchant's available balance on the primary (not through the API)."""
        return self.sql_value(
            "SELECT balance FROM accounts WHERE merchant_id = $1 AND kind = 'merchant_available'"
            " AND currency = $2",
            self.endpoints.merchants[merchant].id,
            currency,
        )

    def arm(self, name: str, action: str, **options: int) -> None:
        """Arm a failpoint of the API."""
        response = requests.post(
            f"{self.endpoints.admin_urls['api']}/failpoints",
            json={"name": name, "action": action, **options},
            timeout=REQUEST_TIMEOUT_S,
        )
        assert response.status_code == 200, response.text

    def fired(self, name: str) -> int:
        """How often the API's failpoint `name` fired (since the API last started)."""
        response = requests.get(
            f"{self.endpoints.admin_urls['api']}/failpoints", timeout=REQUEST_TIMEOUT_S
        )
        return response.json()["fired"][name]

    def sql(self, query: str, *arguments: Any, on: str = "pg-primary") -> list[dict]:
        """Rows of a query on the primary (or `on="pg-replica"`), read directly."""
        endpoints = self.endpoints
        dsn = endpoints.primary_dsn.replace(
            endpoints.services["pg-primary"], endpoints.services[on]
        )

        async def fetch() -> list[dict]:
            connection = await asyncpg.connect(dsn)
            try:
                return [dict(row) for row in await connection.fetch(query, *arguments)]
            finally:
                await connection.close()

        return asyncio.run(fetch())

    def sql_value(self, query: str, *arguments: Any) -> Any:
        rows = self.sql(query, *arguments)
        assert len(rows) == 1 and len(rows[0]) == 1, rows
        return next(iter(rows[0].values()))

    def network_records(self, kind: str, reference: str) -> list[dict]:
        """The network simulator's records of `kind` ("authorizations", ...) for a reference."""
        response = requests.get(
            f"{self.endpoints.network_url}/v1/{kind}",
            params={"reference": reference},
            timeout=REQUEST_TIMEOUT_S,
        )
        assert response.status_code == 200, response.text
        return response.json()["data"]

    def network_count(self, kind: str) -> int:
        """How many records of `kind` ("authorizations", ...) the network holds in all."""
        count, after_seq = 0, 0
        for _ in range(NETWORK_PAGES_MAX):
            response = requests.get(
                f"{self.endpoints.network_url}/v1/{kind}",
                params={"after_seq": str(after_seq)},
                timeout=REQUEST_TIMEOUT_S,
            )
            assert response.status_code == 200, response.text
            page = response.json()
            count += len(page["data"])
            if not page["has_more"]:
                return count
            after_seq = page["last_seq"]
        raise AssertionError(f"more than {NETWORK_PAGES_MAX} pages of {kind}")

    def ledger_problems(self) -> list[str]:
        """Ledger transactions that do not sum to zero, and balances that differ from their
        entries: both must be empty at every commit."""
        unbalanced = self.sql(
            "SELECT transaction_id, sum(amount) AS total FROM ledger_entries"
            " GROUP BY transaction_id HAVING sum(amount) <> 0"
        )
        drifted = self.sql(
            "SELECT a.id, a.balance, coalesce(sum(e.amount), 0) AS entries FROM accounts a"
            " LEFT JOIN ledger_entries e ON e.account_id = a.id"
            " GROUP BY a.id HAVING a.balance <> coalesce(sum(e.amount), 0)"
        )
        return [f"transaction {row}" for row in unbalanced] + [f"account {row}" for row in drifted]


def concurrently(calls: list[Callable[[], Any]]) -> list[Any]:
    """Run `calls` at once on threads; results in order (an exception is returned, not raised)."""

    def guarded(call: Callable[[], Any]) -> Any:
        try:
            return call()
        except Exception as error:  # the caller asserts on what each call gave
            return error

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(guarded, calls))


def until(condition: Callable[[], Any], *, timeout_s: float, interval_s: float = 0.25) -> Any:
    """Poll `condition` until it returns something true; fail after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, f"not reached within {timeout_s} s"
        time.sleep(interval_s)
