"""One named proxy: its listener, its live connections, its toxics and what they decided."""

from __future__ import annotations

import asyncio
import logging
import random

from faults.proxy import errors
from faults.proxy.address import format_address, parse_address, resolve_host
from faults.proxy.connection import REFUSED, Connection
from faults.proxy.decisions import Decision, DecisionLog, ToxicStats, link_random
from faults.proxy.specs import ProxySpec
from faults.proxy.toxics import Toxic, ToxicCollection

logger = logging.getLogger(__name__)

# Connection pools open a few dozen connections per link; the cap keeps a runaway client from
# exhausting file descriptors (two per connection) and taking every other link down with it.
CONNECTION_COUNT_MAX = 4096

# Pending accepts the kernel queues per listener; bursts of pool reconnects after a fault
# must not be refused by a short backlog.
LISTEN_BACKLOG = 1024


class Proxy:
    """A listener that carries each accepted connection to `upstream` through the toxics.

    Connections are numbered 1, 2, ... in accept order for the proxy's life (disable and enable
    keep counting); the number keys the connection's seeded toxicity rolls.
    """

    def __init__(self, spec: ProxySpec, *, decisions: DecisionLog) -> None:
        self.name = spec.name
        self.listen = spec.listen
        self.upstream = spec.upstream
        self.toxics = ToxicCollection()
        self._decisions = decisions
        self._stats: dict[str, ToxicStats] = {}
        self._server: asyncio.Server | None = None
        self._accepting = False  # set before binding: the first accept can beat create_server
        # A dict, not a set: iterated in accept order, so a toxic added live rolls its
        # decisions in the same order on every run.
        self._connections: dict[Connection, None] = {}
        self._accepted_count = 0
        self._no_connections = asyncio.Event()
        self._no_connections.set()

    @property
    def enabled(self) -> bool:
        """Whether the proxy is listening."""
        return self._server is not None

    def spec(self) -> ProxySpec:
        """Return the proxy's current name, addresses and state."""
        return ProxySpec(self.name, self.listen, self.upstream, self.enabled)

    def to_json(self) -> dict[str, object]:
        """Return the Toxiproxy JSON object for this proxy, toxics included."""
        return {
            "name": self.name,
            "listen": self.listen,
            "upstream": self.upstream,
            "enabled": self.enabled,
            "toxics": [toxic.to_json() for toxic in self.toxics.listing()],
        }

    # Listening

    async def start(self) -> None:
        """Bind `listen` and accept; `listen` becomes the bound address (port 0 -> real port).

        Raises ApiError (500) if the address cannot be bound.
        """
        if self._server is not None:
            return
        host, port = parse_address(self.listen)
        loop = asyncio.get_running_loop()
        self._accepting = True
        try:
            server = await loop.create_server(
                self._accept,
                await resolve_host(host),
                port,
                reuse_address=True,  # re-enabling must rebind the port despite TIME_WAIT
                backlog=LISTEN_BACKLOG,
            )
        except OSError as error:
            self._accepting = False
            raise errors.listen_failed(self.listen, errors.os_error_reason(error)) from None
        bound_host, bound_port = server.sockets[0].getsockname()[:2]
        self.listen = format_address(bound_host, bound_port)
        self._server = server
        logger.info("proxy %s listening on %s for %s", self.name, self.listen, self.upstream)

    def stop(self) -> None:
        """Close the listener and every connection, at once; the sockets finish closing in
        the background (bounded by connection.CLOSE_FLUSH_MAX_S)."""
        server, self._server = self._server, None
        self._accepting = False
        if server is not None:
            server.close()
        for connection in list(self._connections):
            connection.close()

    async def wait_closed(self) -> None:
        """Wait until every connection's sockets are closed (callers bound this wait)."""
        await self._no_connections.wait()

    def move(self, spec: ProxySpec) -> None:
        """Take a new listen and upstream; the caller has stopped the proxy."""
        assert self._server is None, "a proxy is stopped before it moves"
        self.listen, self.upstream = spec.listen, spec.upstream

    # Toxics

    def add_toxic(self, body: object) -> Toxic:
        """Add a toxic from an API body and start it on every open connection."""
        toxic = self.toxics.add(body)
        self._stats[toxic.name] = ToxicStats()
        for connection in list(self._connections):
            connection.add_toxic(toxic)
        return toxic

    def update_toxic(self, name: str, body: object) -> Toxic:
        """Merge an API body into a toxic and restart it on every open connection."""
        toxic = self.toxics.update(name, body)
        for connection in list(self._connections):
            connection.update_toxic(toxic)
        return toxic

    def remove_toxic(self, name: str) -> None:
        """Remove a toxic from the proxy and from every open connection."""
        toxic = self.toxics.remove(name)
        del self._stats[name]
        for connection in list(self._connections):
            connection.remove_toxic(toxic)

    def remove_all_toxics(self) -> None:
        """Remove every toxic, as POST /reset does."""
        for toxic in self.toxics.listing():
            self.remove_toxic(toxic.name)

    def toxic_stats(self, name: str) -> ToxicStats:
        """Return what the toxic called `name` did; raise ApiError (404) if there is none."""
        self.toxics.get(name)
        return self._stats[name]

    # ConnectionOwner, for the connections

    def random_for(self, connection: int, toxic: Toxic) -> random.Random:
        return link_random(
            self._decisions.seed, proxy=self.name, connection=connection, toxic=toxic
        )

    def record(
        self, connection: int, toxic: Toxic, roll: float, *, affected: bool, first: bool
    ) -> None:
        self._decisions.record(
            Decision(
                proxy=self.name,
                connection=connection,
                stream=toxic.stream,
                toxic=toxic.name,
                type=toxic.type,
                revision=toxic.revision,
                toxicity=toxic.toxicity,
                roll=roll,
                affected=affected,
            )
        )
        stats = self._stats.get(toxic.name)
        if first and stats is not None:
            if affected:
                stats.connections_affected += 1
            else:
                stats.connections_spared += 1

    def count_bytes(self, toxic: Toxic, byte_count: int) -> None:
        stats = self._stats.get(toxic.name)
        if stats is not None:
            stats.bytes_affected += byte_count

    def connection_done(self, connection: Connection) -> None:
        self._connections.pop(connection, None)
        if not self._connections:
            self._no_connections.set()

    # Accepting

    def _accept(self) -> asyncio.Protocol:
        if not self._accepting or len(self._connections) >= CONNECTION_COUNT_MAX:
            # A connection that raced a disable, or one over the cap: refuse it like a closed port.
            logger.warning("proxy %s: refusing a connection (disabled or at the cap)", self.name)
            return REFUSED()
        self._accepted_count += 1
        connection = Connection(
            number=self._accepted_count,
            upstream=parse_address(self.upstream),
            toxics=self.toxics.listing(),
            owner=self,
        )
        self._connections[connection] = None
        self._no_connections.clear()
        return connection.client
