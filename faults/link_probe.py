"""Probes that confirm a link fault took effect, by sending a request through the link itself.

A fault is confirmed only when the link answered before it (a baseline) and then showed the
fault's effect: no answer under `timeout`, a delayed answer under `latency`, a reset under
`reset_peer`. Users of chaos tools most often ask "did the fault really happen?"; this answers.
"""

import asyncio
import time
from dataclasses import asdict, dataclass

# What each link carries, and a request its server answers at once.
LINK_PROTOCOLS = {
    "api": "http",
    "network": "http",
    "pg_primary": "postgres",
    "pg_replica": "postgres",
    "replication": "postgres",
}
PROBE_REQUESTS = {
    "http": b"GET /health HTTP/1.1\r\nHost: probe\r\nConnection: close\r\n\r\n",
    # SSLRequest: PostgreSQL answers one byte ('N' without TLS) before any authentication.
    "postgres": bytes.fromhex("0000000804d2162f"),
}
# Latency must show at least this share of the configured delay (scheduling noise aside).
LATENCY_SHARE_MIN = 0.8


@dataclass(frozen=True)
class ProbeResult:
    answered: bool
    elapsed_ms: float
    error: str | None

    def to_json(self) -> dict:
        return asdict(self)


async def probe_link(listen: str, link: str, *, timeout_s: float) -> ProbeResult:
    """Send the link's probe request to `listen` and wait up to `timeout_s` for a first byte."""
    host, _, port = listen.rpartition(":")
    assert host.startswith("127."), f"probes stay on loopback, not {host}"
    request = PROBE_REQUESTS[LINK_PROTOCOLS[link]]
    started = time.monotonic()
    writer = None
    try:
        async with asyncio.timeout(timeout_s):
            reader, writer = await asyncio.open_connection(host, int(port))
            writer.write(request)
            await writer.drain()
            first = await reader.read(1)
        elapsed_ms = (time.monotonic() - started) * 1000
        if not first:
            return ProbeResult(False, elapsed_ms, "closed without an answer")
        return ProbeResult(True, elapsed_ms, None)
    except TimeoutError:
        return ProbeResult(False, (time.monotonic() - started) * 1000, "no answer")
    except ConnectionResetError:
        return ProbeResult(False, (time.monotonic() - started) * 1000, "connection reset")
    except OSError as error:
        return ProbeResult(False, (time.monotonic() - started) * 1000, f"{error}")
    finally:
        if writer is not None:
            writer.close()


def toxic_took_effect(
    toxic_type: str, attributes: dict[str, int], baseline: ProbeResult, during: ProbeResult
) -> bool:
    """Whether the probe during the toxic shows its effect on a link that worked before it."""
    if not baseline.answered:
        return False
    if toxic_type == "timeout":
        return not during.answered
    if toxic_type == "latency":
        return during.answered and during.elapsed_ms >= LATENCY_SHARE_MIN * attributes.get(
            "latency", 0
        )
    if toxic_type == "reset_peer":
        return not during.answered and during.error in {
            "connection reset",
            "closed without an answer",
        }
    raise ValueError(f"no confirmation rule for toxic type {toxic_type!r}")


def probe_timeout_s(toxic_type: str, attributes: dict[str, int]) -> float:
    """How long the probe under a toxic waits: past the latency, or long enough to see silence."""
    if toxic_type == "latency":
        return (attributes.get("latency", 0) + attributes.get("jitter", 0)) / 1000 * 2 + 1.0
    if toxic_type == "reset_peer":
        return attributes.get("timeout", 0) / 1000 + 1.0
    return 1.0
