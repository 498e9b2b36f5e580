"""The API application: routes, middlewares and the lifetime of its engines and clients."""

import logging

from aiohttp import web
from sqlalchemy.exc import SQLAlchemyError

from system_under_test.api.authentication import authenticate
from system_under_test.api.charges import create_charge, list_charges, retrieve_charge
from system_under_test.api.context import CONFIG, MERCHANT_CACHE, NETWORK, PRIMARY, REPLICA
from system_under_test.api.errors import api_error
from system_under_test.config import ServiceConfig
from system_under_test.database import make_engine
from system_under_test.network_client import CardNetworkClient

log = logging.getLogger("paychaos.api")


@web.middleware
async def stripe_errors(request: web.Request, handler) -> web.StreamResponse:
    """Unexpected failures become Stripe `api_error` answers instead of HTML pages."""
    try:
        return await handler(request)
    except web.HTTPException as error:
        if error.status >= 400:
            return api_error(error.reason, status=error.status)
        raise
    except (SQLAlchemyError, OSError, TimeoutError) as error:
        log.warning(
            "%s %s failed: %s: %s", request.method, request.path, type(error).__name__, error
        )
        return api_error("An error occurred with our connection to the database.")


async def health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def make_app(config: ServiceConfig) -> web.Application:
    """The API application for `config`."""
    app = web.Application(middlewares=[stripe_errors, authenticate])
    app[CONFIG] = config
    app[MERCHANT_CACHE] = {}

    async def lifetime(app: web.Application):
        app[PRIMARY] = make_engine(config.primary_dsn)
        app[REPLICA] = make_engine(config.replica_dsn) if config.replica_dsn else None
        async with CardNetworkClient(
            config.network_url, timeout_s=config.network_timeout_s
        ) as network:
            app[NETWORK] = network
            yield
        await app[PRIMARY].dispose()
        if app[REPLICA] is not None:
            await app[REPLICA].dispose()

    app.cleanup_ctx.append(lifetime)
    app.router.add_get("/health", health)
    app.router.add_post("/v1/charges", create_charge)
    app.router.add_get("/v1/charges", list_charges)
    app.router.add_get("/v1/charges/{charge_id}", retrieve_charge)
    return app
