"""API keys, as Stripe takes them (`Authorization: Bearer sk_...`, any case of the scheme, or
HTTP Basic with the key as the user name), checked against their stored sha256."""

import base64
import binascii
import hashlib

from aiohttp import web
from sqlalchemy import select

from system_under_test.api.context import MERCHANT_CACHE, MERCHANT_ID, SERVICES
from system_under_test.api.errors import error_response
from system_under_test.api.form import text_problem
from system_under_test.payments.errors import StripeError
from system_under_test.schema import merchants

UNAUTHENTICATED_PATHS = frozenset({"/health", "/openapi.json"})


def hash_api_key(api_key: str) -> str:
    """The stored form of an API key."""
    return hashlib.sha256(api_key.encode()).hexdigest()


def _masked(api_key: str) -> str:
    return f"{api_key[:8]}{'*' * 8}{api_key[-4:]}" if len(api_key) > 12 else "****"


def api_key_of(authorization: str) -> str | None:
    """The API key an Authorization header carries, or None.

    >>> api_key_of("bearer sk_test_1")
    'sk_test_1'
    >>> api_key_of("Basic " + base64.b64encode(b"sk_test_1:").decode())
    'sk_test_1'
    """
    scheme, _, credentials = authorization.strip().partition(" ")
    credentials = credentials.strip()
    if scheme.lower() == "bearer":
        return credentials or None
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(credentials, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, _, _password = decoded.partition(":")
    return user or None


@web.middleware
async def authenticate(request: web.Request, handler) -> web.StreamResponse:
    """Resolve the request's API key to a merchant, or answer 401."""
    if request.path in UNAUTHENTICATED_PATHS:
        return await handler(request)
    authorization = request.headers.get("Authorization", "")
    if text_problem(authorization) is not None:
        return error_response(StripeError.API_KEY_UNREADABLE)
    api_key = api_key_of(authorization)
    if api_key is None:
        return error_response(StripeError.API_KEY_MISSING)
    key_hash = hash_api_key(api_key)
    cache = request.app[MERCHANT_CACHE]
    merchant_id = cache.get(key_hash)
    if merchant_id is None:
        async with request.app[SERVICES].primary.connect() as connection:
            merchant_id = await connection.scalar(
                select(merchants.c.id).where(merchants.c.api_key_hash == key_hash)
            )
        if merchant_id is None:
            return error_response(StripeError.API_KEY_INVALID, masked=_masked(api_key))
        cache[key_hash] = merchant_id
    request[MERCHANT_ID] = merchant_id
    return await handler(request)
