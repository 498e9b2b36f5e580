"""HTTP front of the card network simulator (aiohttp): thin handlers over `movements` (what is
accepted and decided) and `store` (where it is recorded).

Per kind (authorizations, refunds, payouts, at contract.PATHS):
`POST` records one movement and answers it; `GET ?reference=R` lists that reference's records;
`GET ?after_seq=N&limit=M` pages through every record of the kind.
"""

import asyncio
import concurrent.futures
import json
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from aiohttp import web

from system_under_test.externals.network.contract import PATHS, MovementKind
from system_under_test.externals.network.movements import (
    Movement,
    decide,
    new_movement_id,
    parse,
)
from system_under_test.externals.network.store import MovementStore

# A final read pages through the records; a page bounds one response's size.
PAGE_LIMIT_MAX = 1000
# seq is an SQLite INTEGER (64 signed bits); a larger after_seq would fail the query.
SEQ_MAX = 2**63 - 1
# Digits enough for SEQ_MAX; more are refused before int() reads them.
_COUNT = re.compile(r"[0-9]{1,19}")

STORE_KEY = web.AppKey("store", MovementStore)
EXECUTOR_KEY = web.AppKey("executor", concurrent.futures.ThreadPoolExecutor)

Result = TypeVar("Result")


@dataclass(frozen=True)
class ByReference:
    reference: str


@dataclass(frozen=True)
class Page:
    after_seq: int
    limit: int


def _count(name: str, text: str, low: int, high: int) -> int | str:
    if _COUNT.fullmatch(text) is None or not low <= int(text) <= high:
        return f"query parameter {name!r} must be an integer from {low} to {high}"
    return int(text)


def parse_listing(parameters: Iterable[tuple[str, str]]) -> ByReference | Page | str:
    """What a listing asks for, or why it is refused (naming the parameter).

    >>> parse_listing([("reference", "ch_1")])
    ByReference(reference='ch_1')
    >>> parse_listing([("after_seq", "7")])
    Page(after_seq=7, limit=1000)
    >>> parse_listing([("limit", "0")])
    "query parameter 'limit' must be an integer from 1 to 1000"
    """
    query: dict[str, str] = {}
    for name, value in parameters:
        if name not in ("reference", "after_seq", "limit"):
            return f"unknown query parameter {name!r} (reference, or after_seq and limit)"
        if name in query:
            return f"query parameter {name!r} is given more than once"
        query[name] = value
    if "reference" in query:
        if len(query) > 1:
            other = next(name for name in query if name != "reference")
            return f"query parameter 'reference' cannot be combined with {other!r}"
        if not query["reference"]:
            return "query parameter 'reference' must be non-empty"
        return ByReference(query["reference"])
    after_seq = _count("after_seq", query.get("after_seq", "0"), 0, SEQ_MAX)
    if isinstance(after_seq, str):
        return after_seq
    limit = _count("limit", query.get("limit", str(PAGE_LIMIT_MAX)), 1, PAGE_LIMIT_MAX)
    if isinstance(limit, str):
        return limit
    return Page(after_seq=after_seq, limit=limit)


def _bad_request(message: str) -> web.Response:
    return web.json_response({"error": {"message": message}}, status=400)


async def _in_store(request: web.Request, function: Callable[..., Result], *args) -> Result:
    # SQLite calls block; one dedicated thread keeps them off the event loop and serialized.
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(request.app[EXECUTOR_KEY], function, *args)


def _receive(store: MovementStore, kind: MovementKind, fields: dict[str, object]) -> Movement:
    """Decide and durably record one request; runs on the store thread.

    The clock is read here, serialized with look-ups (which run on this thread too), not when
    the request arrived: so once a look-up after a deadline found nothing, any request recorded
    later was received later still, and is expired. A look-up after the deadline is final.
    """
    movement = decide(
        kind, fields, movement_id=new_movement_id(kind), received_at_ns=time.time_ns()
    )
    store.record(movement)
    return movement


def _receiver(kind: MovementKind):
    async def receive(request: web.Request) -> web.Response:
        """Decide and durably record one movement, then answer it. Never deduplicates."""
        try:
            # JSON travels as UTF-8 (RFC 8259); json.loads would guess UTF-16 and 32 too.
            body = json.loads((await request.read()).decode("utf-8"))
        except (ValueError, RecursionError):
            return _bad_request("body must be JSON")
        fields = parse(kind, body)
        if isinstance(fields, str):
            return _bad_request(fields)
        movement = await _in_store(request, _receive, request.app[STORE_KEY], kind, fields)
        return web.json_response(movement.to_json())

    return receive


def _lister(kind: MovementKind):
    async def list_movements(request: web.Request) -> web.Response:
        """By `reference` (outcome look-up), or every record in pages (`after_seq`, `limit`)."""
        store = request.app[STORE_KEY]
        listing = parse_listing(request.query.items())
        if isinstance(listing, str):
            return _bad_request(listing)
        if isinstance(listing, ByReference):
            found = await _in_store(request, store.by_reference, kind, listing.reference)
            return web.json_response({"data": [movement.to_json() for movement in found]})
        # One more than asked tells whether more follow, exactly, with no extra query.
        page = await _in_store(
            request,
            lambda: store.page(kind, after_seq=listing.after_seq, limit=listing.limit + 1),
        )
        shown = page[: listing.limit]
        return web.json_response(
            {
                "data": [movement.to_json() for _, movement in shown],
                "last_seq": shown[-1][0] if shown else listing.after_seq,
                "has_more": len(page) > listing.limit,
            }
        )

    return list_movements


async def health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def make_app(database_path: Path) -> web.Application:
    """The simulator's application, storing records at `database_path`."""
    app = web.Application()
    executor = concurrent.futures.ThreadPoolExecutor(
        max_workers=1, thread_name_prefix="network-store"
    )
    app[EXECUTOR_KEY] = executor
    app[STORE_KEY] = executor.submit(MovementStore, database_path).result()

    async def close_store(app: web.Application) -> None:
        await asyncio.get_running_loop().run_in_executor(executor, app[STORE_KEY].close)
        executor.shutdown(wait=True)

    app.on_cleanup.append(close_store)
    for kind in MovementKind:
        app.router.add_post(PATHS[kind], _receiver(kind))
        app.router.add_get(PATHS[kind], _lister(kind))
    app.router.add_get("/health", health)
    return app
