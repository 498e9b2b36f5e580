"""The Toxiproxy 2.x HTTP API over a `ProxyRegistry`, served by aiohttp.

Statuses, error bodies and paths follow shared/reference/toxiproxy-api.md, so that
toxiproxy-python and the other Toxiproxy clients drive this server unchanged. Two read-only
routes are this server's own, outside the Toxiproxy objects (a real Toxiproxy answers 404):

- `GET /paychaos/decisions`: `{"seed", "decisions": [...], "dropped"}`, every toxicity roll
  in order (faults/proxy/decisions.py);
- `GET /proxies/{p}/toxics/{t}/stats`: `{"name", "connections_affected",
  "connections_spared", "bytes_affected"}`, what one toxic did since it was added.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from http import HTTPStatus

from aiohttp import web

from faults.proxy import errors
from faults.proxy.body import BODY_BYTES_MAX, parse_body, too_large
from faults.proxy.registry import PopulateFailed, ProxyRegistry

# The Toxiproxy release whose API this server speaks; clients pick POST or PATCH by it.
API_VERSION = "2.6.0"

# Toxiproxy's own handler limit (it answers 503 after it); no handler here should come near it,
# as none waits on a connection's data, but a bug must turn into an answer, not a hang.
API_HANDLER_TIMEOUT_S = 25.0

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _error_response(error: errors.ApiError) -> web.Response:
    return web.json_response(error.body(), status=error.status)


@web.middleware
async def _refuse_browsers(request: web.Request, handler: Handler) -> web.StreamResponse:
    # As Toxiproxy does: a web page must not be able to drive the proxy through a browser.
    if request.headers.get("User-Agent", "").startswith("Mozilla/"):
        return web.Response(status=HTTPStatus.FORBIDDEN, text="User agent not allowed\n")
    return await handler(request)


@web.middleware
async def _answer_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        async with asyncio.timeout(API_HANDLER_TIMEOUT_S):
            return await handler(request)
    except errors.ApiError as error:
        return _error_response(error)
    except web.HTTPNotFound:
        # Only routing raises this (handlers answer 404 as ApiError); Go's text for it.
        return web.Response(status=HTTPStatus.NOT_FOUND, text="404 page not found\n")
    except TimeoutError:
        message = f"handler did not finish in {API_HANDLER_TIMEOUT_S:.0f} s"
        return _error_response(errors.ApiError(message, HTTPStatus.SERVICE_UNAVAILABLE))


async def _json_body(request: web.Request) -> object:
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise too_large() from None
    return parse_body(raw)


def _no_content() -> web.Response:
    return web.Response(status=HTTPStatus.NO_CONTENT)


class _Handlers:
    """The endpoint handlers; each one validates, changes the registry, and answers JSON."""

    def __init__(self, registry: ProxyRegistry) -> None:
        self._registry = registry

    async def list_proxies(self, request: web.Request) -> web.Response:
        return web.json_response({proxy.name: proxy.to_json() for proxy in self._registry.all()})

    async def create_proxy(self, request: web.Request) -> web.Response:
        proxy = await self._registry.create(await _json_body(request))
        return web.json_response(proxy.to_json(), status=HTTPStatus.CREATED)

    async def show_proxy(self, request: web.Request) -> web.Response:
        return web.json_response(self._registry.get(request.match_info["proxy"]).to_json())

    async def update_proxy(self, request: web.Request) -> web.Response:
        name = request.match_info["proxy"]
        self._registry.get(name)  # 404 before complaining about the body, as Toxiproxy does
        proxy = await self._registry.update(name, await _json_body(request))
        return web.json_response(proxy.to_json())

    async def delete_proxy(self, request: web.Request) -> web.Response:
        await self._registry.delete(request.match_info["proxy"])
        return _no_content()

    async def populate(self, request: web.Request) -> web.Response:
        body = await _json_body(request)
        try:
            proxies = await self._registry.populate(body)
        except PopulateFailed as failure:
            answer = failure.error.body() | {"proxies": [p.to_json() for p in failure.proxies]}
            return web.json_response(answer, status=failure.error.status)
        return web.json_response(
            {"proxies": [proxy.to_json() for proxy in proxies]}, status=HTTPStatus.CREATED
        )

    async def reset(self, request: web.Request) -> web.Response:
        await self._registry.reset()
        return _no_content()

    async def list_toxics(self, request: web.Request) -> web.Response:
        proxy = self._registry.get(request.match_info["proxy"])
        return web.json_response([toxic.to_json() for toxic in proxy.toxics.listing()])

    async def create_toxic(self, request: web.Request) -> web.Response:
        proxy = self._registry.get(request.match_info["proxy"])
        toxic = proxy.add_toxic(await _json_body(request))
        return web.json_response(toxic.to_json())

    async def show_toxic(self, request: web.Request) -> web.Response:
        proxy = self._registry.get(request.match_info["proxy"])
        return web.json_response(proxy.toxics.get(request.match_info["toxic"]).to_json())

    async def update_toxic(self, request: web.Request) -> web.Response:
        proxy = self._registry.get(request.match_info["proxy"])
        name = request.match_info["toxic"]
        proxy.toxics.get(name)  # 404 before complaining about the body
        toxic = proxy.update_toxic(name, await _json_body(request))
        return web.json_response(toxic.to_json())

    async def delete_toxic(self, request: web.Request) -> web.Response:
        proxy = self._registry.get(request.match_info["proxy"])
        # Synchronous on purpose: removal never waits on a connection, so it cannot hang.
        proxy.remove_toxic(request.match_info["toxic"])
        return _no_content()

    async def toxic_stats(self, request: web.Request) -> web.Response:
        proxy = self._registry.get(request.match_info["proxy"])
        name = request.match_info["toxic"]
        return web.json_response(proxy.toxic_stats(name).to_json(name))

    async def decisions(self, request: web.Request) -> web.Response:
        return web.json_response(self._registry.decisions.to_json())

    async def version(self, request: web.Request) -> web.Response:
        return web.json_response({"version": API_VERSION})


def create_app(registry: ProxyRegistry) -> web.Application:
    """Build the aiohttp application serving the Toxiproxy API for `registry`."""
    handlers = _Handlers(registry)
    app = web.Application(
        middlewares=[_refuse_browsers, _answer_errors], client_max_size=BODY_BYTES_MAX
    )
    proxy_path = "/proxies/{proxy}"
    toxic_path = "/proxies/{proxy}/toxics/{toxic}"
    app.router.add_routes(
        [
            web.post("/reset", handlers.reset),
            web.get("/version", handlers.version),
            web.post("/populate", handlers.populate),
            web.get("/proxies", handlers.list_proxies),
            web.post("/proxies", handlers.create_proxy),
            web.get(proxy_path, handlers.show_proxy),
            web.post(proxy_path, handlers.update_proxy),
            web.patch(proxy_path, handlers.update_proxy),
            web.delete(proxy_path, handlers.delete_proxy),
            web.get(proxy_path + "/toxics", handlers.list_toxics),
            web.post(proxy_path + "/toxics", handlers.create_toxic),
            web.get(toxic_path, handlers.show_toxic),
            web.post(toxic_path, handlers.update_toxic),
            web.patch(toxic_path, handlers.update_toxic),
            web.delete(toxic_path, handlers.delete_toxic),
            web.get(toxic_path + "/stats", handlers.toxic_stats),
            web.get("/paychaos/decisions", handlers.decisions),
        ]
    )
    return app
