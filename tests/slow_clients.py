"""Slow clients for tests of the servers' bounds: a Slowloris connection (headers a byte at a
time, never finished), a short body (a Content-Length larger than what is sent), and the
measurement of when the server closes them. Loopback only."""

import asyncio
import time

# How often a Slowloris connection sends its next byte: often enough that any timer reset by
# arriving bytes would never fire.
DRIP_INTERVAL_S = 1.0
# The body a short-body request announces, and what it sends of it.
ANNOUNCED_BYTES = 100
SENT_BYTES = 10


async def slowloris(host: str, port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A connection that has begun its request line and sends one byte of headers per
    DRIP_INTERVAL_S (with `drip`), never ending them."""
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ")
    await writer.drain()
    return reader, writer


async def short_body(
    host: str, port: int, path: str, headers: dict[str, str]
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A connection whose POST announces ANNOUNCED_BYTES of body and sends SENT_BYTES."""
    reader, writer = await asyncio.open_connection(host, port)
    lines = [f"POST {path} HTTP/1.1", "Host: x", f"Content-Length: {ANNOUNCED_BYTES}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    lines += ["Content-Type: application/x-www-form-urlencoded"]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + b"a" * SENT_BYTES)
    await writer.drain()
    return reader, writer


async def _drip(writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            await asyncio.sleep(DRIP_INTERVAL_S)
            writer.write(b"x")
            await writer.drain()
    except ConnectionError:
        return


async def closed_after_s(
    connection: tuple[asyncio.StreamReader, asyncio.StreamWriter],
    *,
    timeout_s: float,
    drip: bool = False,
) -> float | None:
    """Seconds until the server closed `connection` (whatever it answered first), dripping a
    header byte meanwhile if `drip`; None if still open after `timeout_s`."""
    reader, writer = connection
    started = time.monotonic()
    dripping = asyncio.create_task(_drip(writer)) if drip else None
    try:
        async with asyncio.timeout(timeout_s):
            while await reader.read(65536):
                pass
    except TimeoutError:
        return None
    except ConnectionError:
        pass
    finally:
        if dripping is not None:
            dripping.cancel()
        writer.close()
    return time.monotonic() - started
