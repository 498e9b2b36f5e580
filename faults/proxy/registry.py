"""All proxies of one server by name: create, update, delete, populate and reset."""

from __future__ import annotations

import asyncio
import random

from faults.proxy import errors
from faults.proxy.proxy import Proxy
from faults.proxy.specs import (
    ProxySpec,
    parse_populate,
    parse_proxy_create,
    parse_proxy_update,
)


class PopulateFailed(Exception):
    """A populate that stopped at a proxy it could not start; the earlier ones stay created."""

    def __init__(self, error: errors.ApiError, proxies: list[Proxy]) -> None:
        super().__init__(error.message)
        self.error = error
        self.proxies = proxies


class ProxyRegistry:
    """The proxies of one server, keyed by name.

    Changes that bind or close listeners take one lock, so that two API calls cannot start
    the same proxy twice or create one name twice. Toxic changes do not await and need none.
    """

    def __init__(self, *, rng: random.Random) -> None:
        self._rng = rng
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
        proxy = Proxy(spec, rng=self._rng)
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
        """Apply a POST/PATCH /proxies/{name} body to the proxy and return it."""
        async with self._lock:
            proxy = self.get(name)
            await proxy.apply(parse_proxy_update(body, proxy.spec()))
            return proxy

    async def delete(self, name: str) -> None:
        """Stop the proxy (listener and connections) and forget it."""
        async with self._lock:
            proxy = self.get(name)
            del self._proxies[name]
            await proxy.stop()

    async def populate(self, body: object) -> list[Proxy]:
        """Create or replace proxies from a POST /populate body and return them.

        A proxy whose name, listen and upstream are unchanged is kept as it is, with its toxics
        and connections. Raises PopulateFailed if one cannot listen; earlier ones stay.
        """
        specs = parse_populate(body)
        proxies: list[Proxy] = []
        async with self._lock:
            for spec in specs:
                existing = self._proxies.get(spec.name)
                if existing is not None:
                    if (existing.listen, existing.upstream) == (spec.listen, spec.upstream):
                        proxies.append(existing)
                        continue
                    await existing.stop()
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
        """Stop every proxy: listeners and connections closed."""
        async with self._lock:
            for proxy in self.all():
                await proxy.stop()
