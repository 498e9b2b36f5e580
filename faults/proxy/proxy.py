"""One named proxy: its listener, its live connections and its toxics."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import random
import socket

from faults.proxy import errors
from faults.proxy.address import format_address, parse_address
from faults.proxy.connection import CLOSE_FLUSH_MAX_S, Connection
from faults.proxy.specs import ProxySpec
from faults.proxy.toxics import Toxic, ToxicCollection

logger = logging.getLogger(__name__)

# Connection pools open a few dozen connections per link; the cap keeps a runaway client from
# exhausting file descriptors (two per connection) and taking every other link down with it.
CONNECTION_COUNT_MAX = 4096

# Pending accepts the kernel queues per listener; bursts of pool reconnects after a fault
# must not be refused by a short backlog.
LISTEN_BACKLOG = 1024

# Closing a connection is immediate; what is waited for is its tasks and sockets to finish,
# which a graceful close bounds by CLOSE_FLUSH_MAX_S.
STOP_WAIT_MAX_S = CLOSE_FLUSH_MAX_S + 1


async def _bind_host(host: str) -> str:
    """Resolve a host name to one address, preferring IPv4 as Go does.

    Binding a name that resolves to both 127.0.0.1 and ::1 would open two sockets that, for
    port 0, get two different ports, and the proxy could report only one of them.
    """
    with contextlib.suppress(ValueError):
        ipaddress.ip_address(host)
        return host
    infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    infos.sort(key=lambda info: info[0] != socket.AF_INET)
    return str(infos[0][4][0])


class Proxy:
    """A listener that carries each accepted connection to `upstream` through the toxics."""

    def __init__(self, spec: ProxySpec, *, rng: random.Random) -> None:
        self.name = spec.name
        self.listen = spec.listen
        self.upstream = spec.upstream
        self.toxics = ToxicCollection()
        self._rng = rng
        self._server: asyncio.Server | None = None
        self._connections: dict[Connection, asyncio.Task[None] | None] = {}

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

    async def start(self) -> None:
        """Bind `listen` and accept; `listen` becomes the bound address (port 0 -> real port).

        Raises ApiError (500) if the address cannot be bound.
        """
        if self._server is not None:
            return
        host, port = parse_address(self.listen)
        try:
            server = await asyncio.start_server(
                self._accept,
                await _bind_host(host),
                port,
                reuse_address=True,  # re-enabling must rebind the port despite TIME_WAIT
                backlog=LISTEN_BACKLOG,
            )
        except OSError as error:
            raise errors.listen_failed(self.listen, errors.os_error_reason(error)) from None
        bound_host, bound_port = server.sockets[0].getsockname()[:2]
        self.listen = format_address(bound_host, bound_port)
        self._server = server
        logger.info("proxy %s listening on %s for %s", self.name, self.listen, self.upstream)

    async def stop(self) -> None:
        """Close the listener and every connection; wait (bounded) until their sockets close."""
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for connection in list(self._connections):
            connection.close()
        tasks = [task for task in self._connections.values() if task is not None]
        if tasks:
            await asyncio.wait(tasks, timeout=STOP_WAIT_MAX_S)

    async def apply(self, spec: ProxySpec) -> None:
        """Move to `spec`: a new listen or upstream restarts the proxy, then `enabled` applies."""
        if (parse_address(spec.listen), spec.upstream) != (
            parse_address(self.listen),
            self.upstream,
        ):
            await self.stop()
            self.listen, self.upstream = spec.listen, spec.upstream
        if spec.enabled and not self.enabled:
            await self.start()
        elif not spec.enabled and self.enabled:
            await self.stop()

    def add_toxic(self, body: object) -> Toxic:
        """Add a toxic from an API body and start it on every open connection."""
        toxic = self.toxics.add(body)
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
        for connection in list(self._connections):
            connection.remove_toxic(toxic)

    def remove_all_toxics(self) -> None:
        """Remove every toxic, as POST /reset does."""
        for toxic in self.toxics.clear():
            for connection in list(self._connections):
                connection.remove_toxic(toxic)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._server is None or len(self._connections) >= CONNECTION_COUNT_MAX:
            # A connection that raced a disable, or one over the cap: refuse it like a closed port.
            logger.warning("proxy %s: refusing a connection (disabled or at the cap)", self.name)
            writer.transport.abort()
            return
        upstream = parse_address(self.upstream)
        connection = Connection(
            upstream=upstream,
            client_reader=reader,
            client_writer=writer,
            toxics=self.toxics.listing(),
            rng=self._rng,
        )
        self._connections[connection] = asyncio.current_task()
        try:
            await connection.run()
        except Exception as error:
            # One connection's failure is logged and closed; the proxy carries on.
            logger.error("proxy %s: connection failed: %r", self.name, error)
        finally:
            connection.close()
            del self._connections[connection]
