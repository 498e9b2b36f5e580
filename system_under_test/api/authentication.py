"""Bearer API keys, checked against their stored sha256."""

import hashlib

from aiohttp import web
from sqlalchemy import select

from system_under_test.api.context import MERCHANT_CACHE, MERCHANT_ID, SERVICES
from system_under_test.api.errors import invalid_request
from system_under_test.api.params import text_problem
from system_under_test.schema import merchants

UNAUTHENTICATED_PATHS = frozenset({"/health"})


def hash_api_key(api_key: str) -> str:
    """The stored form of an API key."""
    return hashlib.sha256(api_key.encode()).hexdigest()


def _masked(api_key: str) -> str:
    return f"{api_key[:8]}{'*' * 8}{api_key[-4:]}" if len(api_key) > 12 else "****"


@web.middleware
async def authenticate(request: web.Request, handler) -> web.StreamResponse:
    """Resolve `Authorization: Bearer sk_test_...` to a merchant, or answer 401."""
    if request.path in UNAUTHENTICATED_PATHS:
        return await handler(request)
    scheme, _, api_key = request.headers.get("Authorization", "").partition(" ")
    if scheme != "Bearer" or not api_key:
        return invalid_request(
            "You did not provide an API key. Use 'Authorization: Bearer YOUR_SECRET_KEY'.",
            status=401,
        )
    if text_problem(api_key) is not None:
        return invalid_request("Invalid API Key provided: it is not valid UTF-8 text", status=401)
    key_hash = hash_api_key(api_key.strip())
    cache = request.app[MERCHANT_CACHE]
    merchant_id = cache.get(key_hash)
    if merchant_id is None:
        async with request.app[SERVICES].primary.connect() as connection:
            merchant_id = await connection.scalar(
                select(merchants.c.id).where(merchants.c.api_key_hash == key_hash)
            )
        if merchant_id is None:
            return invalid_request(f"Invalid API Key provided: {_masked(api_key)}", status=401)
        cache[key_hash] = merchant_id
    request[MERCHANT_ID] = merchant_id
    return await handler(request)
