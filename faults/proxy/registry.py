"""All proxies of one server by name: create, update, delete, populate and reset."""

from __future__ import annotations

import asyncio
import contextlib

from faults.proxy import errors
from faults.proxy.address import canonical_address
from faults.proxy.connection import CLOSE_FLUSH_MAX_S
from faults.proxy.decisions import DecisionLog
from faults.proxy.proxy import Proxy
from faults.proxy.specs import (
    ProxySpec,
    parse_populate,
    parse_proxy_create,
    parse_proxy_update,
)

# Closing a connection is immediate; its sockets then flush for at most CLOSE_FLUSH_MAX_S.
# Only a server shutting down waits for that, and no longer than this.
CLOSE_WAIT_MAX_S = CLOSE_FLUSH_MAX_S + 1


class PopulateFailed(Exception):
    """A populate that stopped at a proxy it could not start; the earlier ones stay created."""

    def __init__(self, error: errors.ApiError, proxies: list[Proxy]) -> None:
        super().__init__(error.message)
        self.error = error
        self.proxies = proxies


async def _same_place(proxy: Proxy, spec: ProxySpec) -> bool:
    """Whether `spec` names the listen and upstream `proxy` has, however they are spelled.

    `localhost:P` and `127.0.0.1:P` are one address: comparing the text would restart the
    proxy and drop its toxics and connections for nothing.
    """
    if (proxy.listen, proxy.upstream) == (spec.listen, spec.upstream):
        return True
    current = (await canonical_address(proxy.listen), await canonical_address(proxy.upstream))
    wanted = (await canonical_address(spec.listen), await canonical_address(spec.upstream))
    return current == wanted


class ProxyRegistry:
    """The proxies of one server, keyed by name, and the toxicity decisions they made.

    Changes that bind or close listeners take one lock, so that two API calls cannot start
    the same proxy twice or create one name twice. Nothing under the lock waits for a
    connection: stopping a proxy closes its connections in the background.
    """

    def __init__(self, *, seed: int) -> None:
        self.decisions = DecisionLog(seed)
        self._proxies: dict[str, Proxy] = {}
        self._lock = asyncio.Lock()

    def get(self, name: str) -> Proxy:
        """Return the proxy called `name`; raise ApiError (404) if there is none."""
        proxy = self._proxies.get(name)
        if proxy is None:
            raise errors.proxy_not_found()
        return proxy

    def all(self) -> list[Proxy]:
        """Return every proxy, sorted by name."""
        return [self._proxies[name] for name in sorted(self._proxies)]

    async def _start_new(self, spec: ProxySpec) -> Proxy:
        proxy = Proxy(spec, decisions=self.decisions)
        if spec.enabled:
            await proxy.start()
        self._proxies[spec.name] = proxy
        return proxy

    async def create(self, body: object) -> Proxy:
        """Create a proxy from a POST /proxies body (400, 409, or 500 if it cannot listen)."""
        spec = parse_proxy_create(body)
        async with self._lock:
            if spec.name in self._proxies:
                raise errors.proxy_already_exists()
            return await self._start_new(spec)

    async def update(self, name: str, body: object) -> Proxy:
        """Apply a POST/PATCH /proxies/{name} body to the proxy and return it.

        A new listen or upstream restarts the proxy (its connections are dropped, its toxics
        kept); then `enabled` applies. Raises ApiError (500) if it cannot listen.
        """
        async with self._lock:
            proxy = self.get(name)
            spec = parse_proxy_update(body, proxy.spec())
            if not await _same_place(proxy, spec):
                proxy.stop()
                proxy.move(spec)
            if spec.enabled:
                await proxy.start()
            else:
                proxy.stop()
            return proxy

    async def delete(self, name: str) -> None:
        """Stop the proxy (listener and connections) and forget it."""
        async with self._lock:
            proxy = self.get(name)
            del self._proxies[name]
            proxy.stop()

    async def populate(self, body: object) -> list[Proxy]:
        """Create or replace proxies from a POST /populate body and return them.

        A proxy whose name, listen and upstream are unchanged (however spelled) is kept as it
        is, with its toxics and connections. Raises PopulateFailed if one cannot listen;
        earlier ones stay.
        """
        specs = parse_populate(body)
        proxies: list[Proxy] = []
        async with self._lock:
            for spec in specs:
                existing = self._proxies.get(spec.name)
                if existing is not None:
                    if await _same_place(existing, spec):
                        proxies.append(existing)
                        continue
                    existing.stop()
                try:
                    proxies.append(await self._start_new(spec))
                except errors.ApiError as error:
                    raise PopulateFailed(error, proxies) from None
        return proxies

    async def reset(self) -> None:
        """Remove every toxic and re-enable every proxy (POST /reset).

        Toxiproxy stops at the first proxy that cannot listen; a reset is the heal of a run,
        so here every proxy is healed that can be, and then the first failure is raised.
        """
        failures: list[errors.ApiError] = []
        async with self._lock:
            for proxy in self.all():
                proxy.remove_all_toxics()
                try:
                    await proxy.start()
                except errors.ApiError as error:
                    failures.append(error)
        if failures:
            raise failures[0]

    async def close(self) -> None:
        """Stop every proxy, then wait (at most CLOSE_WAIT_MAX_S) for their sockets to close."""
        async with self._lock:
            proxies = self.all()
            for proxy in proxies:
                proxy.stop()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(CLOSE_WAIT_MAX_S):
                for proxy in proxies:
                    await proxy.wait_closed()
