"""Probes: one request sent through a link itself, and what came back, measured.

A probe records when the first byte arrived, how many bytes and reads there were, when the
peer closed, and how it failed (no answer, reset). Fault kinds judge these measurements against
a baseline probe taken just before the fault. Users of chaos tools most often ask "did the fault
really happen?"; this is how the harness answers.
"""

import asyncio
import time
from dataclasses import asdict, dataclass

from system_under_test.deploy.spec import LINKS

# Per protocol a link carries (the link table says which), a request its server answers at once.
PROBE_REQUESTS = {
    "http": b"GET /health HTTP/1.1\r\nHost: probe\r\nConnection: close\r\n\r\n",
    # SSLRequest: PostgreSQL answers one byte ('N' without TLS) before any authentication.
    "postgres": bytes.fromhex("0000000804d2162f"),
}
# An HTTP server closes after its answer (Connection: close); PostgreSQL answers one byte and
# waits for more, so a probe stops reading there.
ANSWER_BYTES = {"http": None, "postgres": 1}
READ_SIZE = 65536
NO_ANSWER = "no answer"
RESET = "connection reset"
CLOSED_EARLY = "closed without an answer"


@dataclass(frozen=True)
class ProbeResult:
    """What one probe through a link saw."""

    answered: bool
    # Milliseconds from connecting to the first byte (or to giving up), and to the peer's close.
    elapsed_ms: float
    closed_ms: float | None
    received_bytes: int
    reads: int
    error: str | None

    def to_json(self) -> dict:
        return asdict(self)


async def probe_link(listen: str, link: str, *, timeout_s: float) -> ProbeResult:
    """Send the link's probe request to `listen` and read the answer, at most `timeout_s`."""
    host, _, port = listen.rpartition(":")
    assert host.startswith("127."), f"probes stay on loopback, not {host}"
    protocol = LINKS[link].protocol
    started = time.monotonic()
    state = _Reading()
    writer = None
    try:
        async with asyncio.timeout(timeout_s):
            reader, writer = await asyncio.open_connection(host, int(port))
            writer.write(PROBE_REQUESTS[protocol])
            await writer.drain()
            await state.read(reader, started, ANSWER_BYTES[protocol])
        error = None if state.first_ms is not None else CLOSED_EARLY
    except TimeoutError:
        # An answer that came but was not followed by a close is still an answer.
        error = None if state.first_ms is not None else NO_ANSWER
    except ConnectionResetError:
        error = RESET
    except OSError as error_seen:
        error = str(error_seen)
    finally:
        if writer is not None:
            writer.close()
    return state.result((time.monotonic() - started) * 1000, error)


class _Reading:
    """The measurements of one probe as its answer arrives."""

    def __init__(self) -> None:
        self.first_ms: float | None = None
        self.closed_ms: float | None = None
        self.received = 0
        self.reads = 0

    async def read(self, reader: asyncio.StreamReader, started: float, expected: int | None):
        while expected is None or self.received < expected:
            chunk = await reader.read(READ_SIZE)
            now_ms = (time.monotonic() - started) * 1000
            if not chunk:
                self.closed_ms = now_ms
                return
            if self.first_ms is None:
                self.first_ms = now_ms
            self.received += len(chunk)
            self.reads += 1

    def result(self, total_ms: float, error: str | None) -> ProbeResult:
        return ProbeResult(
            answered=self.first_ms is not None,
            elapsed_ms=self.first_ms if self.first_ms is not None else total_ms,
            closed_ms=self.closed_ms,
            received_bytes=self.received,
            reads=self.reads,
            error=error,
        )
