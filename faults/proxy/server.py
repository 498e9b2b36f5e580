"""The fault proxy server: the Toxiproxy HTTP API and the proxies it manages, on one loop."""

from __future__ import annotations

import logging
import secrets

from aiohttp import web

from faults.proxy.api import create_app
from faults.proxy.registry import CLOSE_WAIT_MAX_S as REGISTRY_CLOSE_WAIT_MAX_S
from faults.proxy.registry import ProxyRegistry
from http_bounds import BoundedSite, ServerBounds, bounded_runner

logger = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8474  # Toxiproxy's port, which every client assumes

# Time given to API requests in flight when the server stops; they are all short.
API_SHUTDOWN_TIMEOUT_S = 2.0

# The proxy's own bounds on its API's clients (the harness's aiohttp client, which keeps an idle
# connection 15 s, and Toxiproxy clients): the API is on loopback and never behind a toxic, and
# its bodies (at most 1 MiB) arrive in milliseconds; 30 s, 10 s and 64 connections per address
# are far above any real call and bound a client that never finishes one.
API_BOUNDS = ServerBounds(
    header_read_timeout_s=30.0, body_read_timeout_s=10.0, connections_per_address_max=64
)

# A whole close: the API's shutdown, then the proxies' sockets, each bounded.
CLOSE_WAIT_MAX_S = API_SHUTDOWN_TIMEOUT_S + REGISTRY_CLOSE_WAIT_MAX_S + 1

# A seed drawn when none is given has 53 bits, so that every JSON reader (JavaScript's numbers
# included) reads it back from GET /paychaos/decisions exactly.
SEED_BITS = 53


def new_seed() -> int:
    """Draw a seed for a run that was given none (reported by GET /paychaos/decisions)."""
    return secrets.randbits(SEED_BITS)


class ProxyServer:
    """Serve the Toxiproxy API on `host:port` (port 0 picks a free one) until closed.

    `seed` drives every toxicity roll, jitter and slice size; None draws one.

    >>> async def main() -> None:
    ...     async with ProxyServer(port=0, seed=7) as server:
    ...         host, port = server.address  # the API's real address
    """

    def __init__(
        self, *, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, seed: int | None = None
    ) -> None:
        self._host = host
        self._port = port
        self.seed = new_seed() if seed is None else seed
        self._registry = ProxyRegistry(seed=self.seed)
        self._runner: web.AppRunner | None = None

    @property
    def address(self) -> tuple[str, int]:
        """The host and port the API is bound to (after `start`)."""
        assert self._runner is not None, "address is known once the server has started"
        host, port = self._runner.addresses[0][:2]
        return str(host), int(port)

    async def start(self) -> None:
        """Bind the API and start serving; raise OSError if the address cannot be bound."""
        runner = bounded_runner(
            create_app(self._registry),
            API_BOUNDS,
            access_log=None,
            shutdown_timeout=API_SHUTDOWN_TIMEOUT_S,
        )
        await runner.setup()
        try:
            await BoundedSite(runner, self._host, self._port, bounds=API_BOUNDS).start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        logger.info("toxicity seed %d", self.seed)

    async def close(self) -> None:
        """Stop the API, then every proxy: all listeners and connections are closed."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()
        await self._registry.close()

    async def __aenter__(self) -> ProxyServer:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()
