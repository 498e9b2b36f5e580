"""Parse, format and compare `host:port` addresses the way Toxiproxy (Go's net package) does."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ipaddress
import socket

PORT_MAX = 65535

# A DNS name has at most 253 characters, so with ":" and a 5-digit port an address has at most
# 259 (a bracketed IPv6 address is shorter): a longer one can be neither dialled nor bound.
ADDRESS_LENGTH_MAX = 259

# An empty host (":8474") means every interface in Go; one IPv4 wildcard socket keeps the bound
# port unique, where binding "" in asyncio would open one socket per family, each on its own port.
WILDCARD_HOST = "0.0.0.0"


def parse_port(text: str) -> int:
    """Parse a port number from 0 to PORT_MAX; raise ValueError naming the bad value.

    (Bind calls do not all refuse a larger one: uvloop takes 99999 as 99999 - 65536.)

    >>> parse_port("8474")
    8474
    """
    if not text.isdigit() or int(text) > PORT_MAX:
        raise ValueError(f"port must be a number from 0 to {PORT_MAX}, got {text!r}")
    return int(text)


def port_argument(text: str) -> int:
    """:func:`parse_port` as a command-line argument type (argparse says what was wrong)."""
    try:
        return parse_port(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def parse_address(text: str) -> tuple[str, int]:
    """Split `host:port` (IPv6 as `[::1]:port`) into host and port; raise ValueError if malformed.

    >>> parse_address("127.0.0.1:8474")
    ('127.0.0.1', 8474)
    >>> parse_address("[::1]:0")
    ('::1', 0)
    """
    if len(text) > ADDRESS_LENGTH_MAX:
        raise ValueError(f"address is longer than {ADDRESS_LENGTH_MAX} characters")
    host, separator, port_text = text.rpartition(":")
    if not separator:
        raise ValueError(f"address {text!r} has no port; write it as host:port")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host:
        raise ValueError(f"address {text!r}: write an IPv6 host in brackets, as [::1]:port")
    if not port_text.isdigit() or int(port_text) > PORT_MAX:
        raise ValueError(f"address {text!r}: port must be a number from 0 to {PORT_MAX}")
    return host or WILDCARD_HOST, int(port_text)


def format_address(host: str, port: int) -> str:
    """Join host and port, bracketing IPv6 hosts.

    >>> format_address("::1", 80)
    '[::1]:80'
    """
    if ":" in host:
        return f"[{host}]:{port}"
    return f"{host}:{port}"


# A name lookup (localhost, a service name) answers from /etc/hosts or a local resolver in
# milliseconds; a hung resolver must not hang an API call.
RESOLVE_TIMEOUT_S = 2.0


async def resolve_host(host: str) -> str:
    """Return `host` as one IP address, preferring IPv4 as Go does; raise OSError if unknown.

    Binding a name that resolves to both 127.0.0.1 and ::1 would open two sockets that, for
    port 0, get two different ports, and the proxy could report only one of them.
    """
    with contextlib.suppress(ValueError):
        return str(ipaddress.ip_address(host))
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(RESOLVE_TIMEOUT_S):
            infos = await loop.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except TimeoutError:
        raise OSError(f"no answer resolving {host!r} in {RESOLVE_TIMEOUT_S:.0f} s") from None
    if not infos:
        raise OSError(f"{host!r} resolves to no address")
    infos.sort(key=lambda info: info[0] != socket.AF_INET)
    return str(infos[0][4][0])


async def canonical_address(text: str) -> tuple[str, int]:
    """Return `host:port` as (IP, port), so that two spellings of one address compare equal.

    `localhost:5432` and `127.0.0.1:5432` are the same place; a name that does not resolve
    stands for itself (lower-cased). Raises ValueError if `text` is not host:port.
    """
    host, port = parse_address(text)
    try:
        return await resolve_host(host), port
    except OSError:
        return host.lower(), port
