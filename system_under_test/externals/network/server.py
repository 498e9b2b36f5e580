"""HTTP front of the card network simulator (aiohttp)."""

import asyncio
import concurrent.futures
import time
from pathlib import Path

from aiohttp import web

from system_under_test.externals.network.cards import decide
from system_under_test.externals.network.store import Authorization, AuthorizationStore
from system_under_test.ids import new_id

# A final read pages through the records; a page bounds one response's size.
PAGE_LIMIT_MAX = 1000

STORE_KEY = web.AppKey("store", AuthorizationStore)
EXECUTOR_KEY = web.AppKey("executor", concurrent.futures.ThreadPoolExecutor)


def _bad_request(message: str) -> web.Response:
    return web.json_response({"error": {"message": message}}, status=400)


def _parse_authorization(body: object) -> dict | str:
    """The validated fields of an authorization request, or the reason it is malformed."""
    if not isinstance(body, dict):
        return "body must be a JSON object"
    fields = {
        "reference": str,
        "card_number": str,
        "amount": int,
        "currency": str,
        "not_after_ms": int,
    }
    for name, kind in fields.items():
        value = body.get(name)
        if not isinstance(value, kind) or isinstance(value, bool):
            return f"field {name!r} must be a {kind.__name__}"
    if body["amount"] <= 0:
        return "field 'amount' must be positive"
    if not body["card_number"].isdigit() or not 12 <= len(body["card_number"]) <= 19:
        return "field 'card_number' must be 12 to 19 digits"
    return {name: body[name] for name in fields}


async def _in_store(request: web.Request, function, *args):
    # SQLite calls block; one dedicated thread keeps them off the event loop and serialized.
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(request.app[EXECUTOR_KEY], function, *args)


async def authorize(request: web.Request) -> web.Response:
    """Decide and durably record one authorization. Never deduplicates."""
    try:
        body = await request.json()
    except ValueError:
        return _bad_request("body must be JSON")
    fields = _parse_authorization(body)
    if isinstance(fields, str):
        return _bad_request(fields)
    now_ms = time.time_ns() // 1_000_000
    if now_ms > fields["not_after_ms"]:
        outcome, decline_code = "expired", None
    else:
        decline_code = decide(fields["card_number"])
        outcome = "approved" if decline_code is None else "declined"
    authorization = Authorization(
        id=new_id("auth"),
        reference=fields["reference"],
        amount=fields["amount"],
        currency=fields["currency"],
        card_last4=fields["card_number"][-4:],
        outcome=outcome,
        decline_code=decline_code,
        received_at_ns=time.time_ns(),
    )
    await _in_store(request, request.app[STORE_KEY].record, authorization)
    return web.json_response(authorization.to_json())


async def list_authorizations(request: web.Request) -> web.Response:
    """By `reference` (outcome look-up), or every record in pages (`after_seq`, `limit`)."""
    store = request.app[STORE_KEY]
    reference = request.query.get("reference")
    if reference is not None:
        found = await _in_store(request, store.by_reference, reference)
        return web.json_response({"data": [record.to_json() for record in found]})
    try:
        after_seq = int(request.query.get("after_seq", "0"))
        limit = min(int(request.query.get("limit", str(PAGE_LIMIT_MAX))), PAGE_LIMIT_MAX)
    except ValueError:
        return _bad_request("after_seq and limit must be integers")
    page = await _in_store(request, lambda: store.page(after_seq=after_seq, limit=limit))
    return web.json_response(
        {
            "data": [record.to_json() for _, record in page],
            "last_seq": page[-1][0] if page else after_seq,
            "has_more": len(page) == limit,
        }
    )


async def health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def make_app(database_path: Path) -> web.Application:
    """The simulator's application, storing records at `database_path`."""
    app = web.Application()
    executor = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    app[EXECUTOR_KEY] = executor
    app[STORE_KEY] = executor.submit(AuthorizationStore, database_path).result()

    async def close_store(app: web.Application) -> None:
        await asyncio.get_running_loop().run_in_executor(executor, app[STORE_KEY].close)
        executor.shutdown(wait=True)

    app.on_cleanup.append(close_store)
    app.router.add_post("/v1/authorizations", authorize)
    app.router.add_get("/v1/authorizations", list_authorizations)
    app.router.add_get("/health", health)
    return app
