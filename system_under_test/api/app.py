"""The API application: routes, middlewares and the lifetime of its engines and clients."""

import datetime
import logging
import secrets
import time

from aiohttp import web

from system_under_test.api import movements, openapi, reads
from system_under_test.api.authentication import authenticate
from system_under_test.api.context import CONFIG, MERCHANT_CACHE, SERVICES
from system_under_test.api.errors import error_response
from system_under_test.config import ServiceConfig
from system_under_test.database import close_pool, make_engine, make_pool
from system_under_test.failpoints import FailpointError, Failpoints
from system_under_test.network_client import CardNetworkClient
from system_under_test.payments.connections import TRANSIENT_ERRORS
from system_under_test.payments.errors import StripeError
from system_under_test.payments.execution import Services

log = logging.getLogger("paychaos.api")

# Random bytes of a request id: `req_` and 24 hex digits, as unguessable as an object id.
REQUEST_ID_BYTES = 12


@web.middleware
async def request_ids(request: web.Request, handler) -> web.StreamResponse:
    """Every answer carries `Request-Id: req_...`, logged with the request and its status."""
    request_id = f"req_{secrets.token_hex(REQUEST_ID_BYTES)}"
    started = time.monotonic()
    response = await handler(request)
    response.headers["Request-Id"] = request_id
    log.info(
        "%s %s %s -> %d in %.1f ms",
        request_id,
        request.method,
        request.path,
        response.status,
        (time.monotonic() - started) * 1000,
    )
    return response


@web.middleware
async def stripe_errors(request: web.Request, handler) -> web.StreamResponse:
    """Every failure becomes a Stripe error in JSON: client errors as invalid requests, the
    database's and the network's as retryable api errors, bugs as api errors not to retry."""
    try:
        return await handler(request)
    except web.HTTPException as error:
        if error.status >= web.HTTPInternalServerError.status_code:
            return error_response(
                StripeError.SERVER_ERROR, status=error.status, reason=error.reason
            )
        if error.status >= web.HTTPBadRequest.status_code:
            response = error_response(
                StripeError.REQUEST_REFUSED, status=error.status, reason=error.reason
            )
            # A 405 names the methods the resource takes (RFC 9110 section 15.5.6).
            if "Allow" in error.headers:
                response.headers["Allow"] = error.headers["Allow"]
            return response
        raise
    except TRANSIENT_ERRORS as error:
        log.warning(
            "%s %s failed: %s: %s", request.method, request.path, type(error).__name__, error
        )
        return error_response(StripeError.DATABASE_UNAVAILABLE)
    except FailpointError as error:
        return error_response(StripeError.FAILPOINT, failpoint=error)
    except Exception:
        log.exception("%s %s failed", request.method, request.path)
        return error_response(StripeError.INTERNAL_ERROR)


async def health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def openapi_document(request: web.Request) -> web.Response:
    """`GET /openapi.json`: the contract of this API."""
    return web.json_response(openapi.DOCUMENT)


# Every route of the API; the OpenAPI document and the harness's clients are held to it.
ROUTES = (
    web.get("/health", health),
    web.get("/openapi.json", openapi_document),
    web.post("/v1/charges", movements.create_charge),
    web.get("/v1/charges", reads.list_charges),
    web.get("/v1/charges/{charge_id}", reads.retrieve_charge),
    web.post("/v1/refunds", movements.create_refund),
    web.get("/v1/refunds", reads.list_refunds),
    web.get("/v1/refunds/{refund_id}", reads.retrieve_refund),
    web.post("/v1/payouts", movements.create_payout),
    web.get("/v1/payouts", reads.list_payouts),
    web.get("/v1/payouts/{payout_id}", reads.retrieve_payout),
    web.get("/v1/balance", reads.retrieve_balance),
    web.get("/v1/balance_transactions", reads.list_balance_transactions),
    web.get("/v1/balance_transactions/{transaction_id}", reads.retrieve_balance_transaction),
)


def make_app(config: ServiceConfig, failpoints: Failpoints) -> web.Application:
    """The API application for `config`; `failpoints` fire only where a test armed them."""
    app = web.Application(middlewares=[request_ids, stripe_errors, authenticate])
    app[CONFIG] = config
    app[MERCHANT_CACHE] = {}

    async def lifetime(app: web.Application):
        primary = make_engine(config.primary_dsn, asynchronous_commit=config.asynchronous_commit)
        replica = make_engine(config.replica_dsn) if config.replica_dsn else None
        money = await make_pool(config.primary_dsn, asynchronous_commit=config.asynchronous_commit)
        try:
            async with CardNetworkClient(
                config.network_url, timeout_s=config.network_timeout_s
            ) as network:
                app[SERVICES] = Services(
                    money=money,
                    primary=primary,
                    replica=replica,
                    network=network,
                    failpoints=failpoints,
                    defects=config.defects,
                    network_ttl=datetime.timedelta(seconds=config.network_ttl_s),
                    lock_ttl=datetime.timedelta(seconds=config.lock_ttl_s),
                )
                yield
        finally:
            await close_pool(money)
            await primary.dispose()
            if replica is not None:
                await replica.dispose()

    app.cleanup_ctx.append(lifetime)
    app.add_routes(ROUTES)
    return app
