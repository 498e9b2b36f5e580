"""Run a ProxyServer on its own event loop in a thread, for tests and synchronous callers."""

from __future__ import annotations

import asyncio
import threading

from faults.proxy import loop as event_loop
from faults.proxy.address import format_address
from faults.proxy.server import CLOSE_WAIT_MAX_S, DEFAULT_HOST, ProxyServer

# Binding a loopback port and importing nothing new takes milliseconds; this is generous.
START_WAIT_MAX_S = 10.0


class BackgroundProxyServer:
    """A ProxyServer running in a daemon thread; a context manager that always stops it.

    >>> with BackgroundProxyServer() as server:  # doctest: +SKIP
    ...     requests.get(server.url + "/version").json()
    {'version': '2.6.0'}
    """

    def __init__(
        self,
        *,
        host: str = DEFAULT_HOST,
        port: int = 0,
        seed: int | None = None,
        loop: str = event_loop.DEFAULT_LOOP,
    ) -> None:
        self._server = ProxyServer(host=host, port=port, seed=seed)
        self._loop_name = loop
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="paychaos-proxy", daemon=True)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._error: BaseException | None = None
        self.address: tuple[str, int] | None = None

    @property
    def url(self) -> str:
        """The API's base URL, such as http://127.0.0.1:41234."""
        assert self.address is not None, "the server has not started"
        return "http://" + format_address(*self.address)

    def start(self) -> tuple[str, int]:
        """Start the thread and wait until the API listens; return its address.

        Raises the server's error (OSError if the port is taken) or TimeoutError.
        """
        self._thread.start()
        if not self._ready.wait(START_WAIT_MAX_S):
            raise TimeoutError(f"the proxy server did not start in {START_WAIT_MAX_S} s")
        if self._error is not None:
            raise self._error
        assert self.address is not None, "a started server has an address"
        return self.address

    def stop(self) -> None:
        """Stop the server (all listeners and connections closed) and join the thread."""
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread.is_alive():
            self._thread.join(CLOSE_WAIT_MAX_S)

    def __enter__(self) -> BackgroundProxyServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def seed(self) -> int:
        """The seed of the server's toxicity rolls."""
        return self._server.seed

    def _run(self) -> None:
        event_loop.run(self._serve(), loop=self._loop_name)

    async def _serve(self) -> None:
        try:
            await self._server.start()
        except BaseException as error:
            self._error = error
            self._ready.set()
            return
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        self.address = self._server.address
        self._ready.set()
        try:
            await self._stop.wait()
        finally:
            await self._server.close()
