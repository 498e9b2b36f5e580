"""Parse and format `host:port` addresses the way Toxiproxy (Go's net package) writes them."""

from __future__ import annotations

PORT_MAX = 65535

# An empty host (":8474") means every interface in Go; one IPv4 wildcard socket keeps the bound
# port unique, where binding "" in asyncio would open one socket per family, each on its own port.
WILDCARD_HOST = "0.0.0.0"


def parse_address(text: str) -> tuple[str, int]:
    """Split `host:port` (IPv6 as `[::1]:port`) into host and port; raise ValueError if malformed.

    >>> parse_address("127.0.0.1:8474")
    ('127.0.0.1', 8474)
    >>> parse_address("[::1]:0")
    ('::1', 0)
    """
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
