"""A minimal HTTP/1.1 client for the load driver: keep-alive connections, one request at a time
each, Content-Length bodies only (what aiohttp's JSON answers carry).

The driver shares the machine with the system it measures, so every microsecond it spends is
taken from the SUT: a general client (aiohttp's) cost about 0.7 ms of CPU per request here,
this one a fraction of that. What it does not understand (chunked bodies, a broken status
line) is an error of that request, never a guess.
"""

import asyncio
import collections
from urllib.parse import urlencode, urlsplit

# Headers of one answer at most; aiohttp's answers carry about 300 bytes of them.
HEADER_BYTES_MAX = 64 * 1024
# One answer's body at most; a charge object is about 2 KB.
BODY_BYTES_MAX = 1024 * 1024


class HttpError(Exception):
    """The connection broke, or the answer could not be read."""


class _Connection(asyncio.Protocol):
    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._waiter: asyncio.Future[tuple[int, bytes, bool]] | None = None
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, and uvloop calls this
        # after create_connection returned: the client sets the transport itself too.
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(HttpError(f"connection lost: {exc}"))

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        if self._waiter is None or self._waiter.done():
            return
        try:
            answer = _parse(self._buffer)
        except HttpError as error:
            self._waiter.set_exception(error)
            return
        if answer is not None:
            status, body, keep_alive, used = answer
            del self._buffer[:used]
            self._waiter.set_result((status, body, keep_alive))

    async def exchange(self, request: bytes) -> tuple[int, bytes, bool]:
        assert self.transport is not None and self._waiter is None, "one request at a time"
        self._waiter = asyncio.get_running_loop().create_future()
        try:
            self.transport.write(request)
            return await self._waiter
        finally:
            self._waiter = None

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.abort()


def _parse(buffer: bytearray) -> tuple[int, bytes, bool, int] | None:
    """(status, body, keep-alive, bytes used) of a complete answer in `buffer`, or None.

    >>> _parse(bytearray(b"HTTP/1.1 200 OK\\r\\nContent-Length: 2\\r\\n\\r\\n{}"))
    (200, b'{}', True, 40)
    >>> _parse(bytearray(b"HTTP/1.1 200 OK\\r\\nContent-Length: 2\\r\\n\\r\\n{")) is None
    True
    """
    end = buffer.find(b"\r\n\r\n")
    if end < 0:
        if len(buffer) > HEADER_BYTES_MAX:
            raise HttpError("headers too long")
        return None
    lines = bytes(buffer[:end]).split(b"\r\n")
    parts = lines[0].split(b" ", 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or not parts[1].isdigit():
        raise HttpError(f"bad status line {lines[0][:80]!r}")
    length, keep_alive = None, True
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value.strip())
        elif name == b"transfer-encoding":
            raise HttpError("chunked answers are not supported")
        elif name == b"connection" and value.strip().lower() == b"close":
            keep_alive = False
    if length is None or length > BODY_BYTES_MAX:
        raise HttpError(f"answer without a usable Content-Length ({length})")
    start = end + 4
    if len(buffer) < start + length:
        return None
    return int(parts[1]), bytes(buffer[start : start + length]), keep_alive, start + length


class HttpClient:
    """Keep-alive connections to one `http://host:port`, at most `connections_max` of them;
    requests beyond that wait for a free one (timed by the caller, like the rest)."""

    def __init__(self, base_url: str, *, connections_max: int) -> None:
        split = urlsplit(base_url)
        assert split.scheme == "http" and split.hostname and split.port, base_url
        self._host, self._port = split.hostname, split.port
        self._host_header = f"{split.hostname}:{split.port}"
        self._idle: list[_Connection] = []
        self._count = 0
        self._connections_max = connections_max
        self._waiting: collections.deque[asyncio.Future[None]] = collections.deque()

    async def post_form(
        self, path: str, form: dict[str, str], headers: dict[str, str]
    ) -> tuple[int, bytes]:
        """POST `form` (urlencoded); returns (status, body). HttpError or OSError on failure;
        a cancellation (the caller's timeout) closes the connection it used."""
        body = urlencode(form).encode()
        head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        request = (
            f"POST {path} HTTP/1.1\r\nHost: {self._host_header}\r\n{head}"
            "Content-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode() + body
        connection = await self._acquire()
        reusable = False
        try:
            status, answer, keep_alive = await connection.exchange(request)
            reusable = keep_alive
            return status, answer
        finally:
            self._release(connection, reusable)

    async def _acquire(self) -> _Connection:
        while True:
            while self._idle:
                connection = self._idle.pop()
                if not connection.closed:
                    return connection
                self._count -= 1
            if self._count < self._connections_max:
                self._count += 1
                try:
                    transport, protocol = await asyncio.get_running_loop().create_connection(
                        _Connection, self._host, self._port
                    )
                except BaseException:
                    self._count -= 1
                    raise
                protocol.transport = transport
                return protocol
            waiter = asyncio.get_running_loop().create_future()
            self._waiting.append(waiter)
            try:
                await waiter
            finally:
                if waiter in self._waiting:
                    self._waiting.remove(waiter)

    def _release(self, connection: _Connection, reusable: bool) -> None:
        if reusable and not connection.closed:
            self._idle.append(connection)
        else:
            connection.close()
            self._count -= 1
        while self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done():
                waiter.set_result(None)
                break

    def close(self) -> None:
        for connection in self._idle:
            connection.close()
        self._idle.clear()
        self._count = 0
