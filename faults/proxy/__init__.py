"""The fault proxy: an asyncio TCP proxy driven through the Toxiproxy 2.x HTTP API.

Run it with `python -m faults.proxy --host 127.0.0.1 --port 8474 [--seed N]` (or
`paychaos proxy`), or in-process:

>>> with BackgroundProxyServer(port=0, seed=7) as server:  # doctest: +SKIP
...     toxiproxy.Toxiproxy().update_api_consumer(*server.address)
"""

from faults.proxy.api import API_VERSION
from faults.proxy.background import BackgroundProxyServer
from faults.proxy.foreground import CannotListen, serve_until_stopped
from faults.proxy.server import DEFAULT_HOST, DEFAULT_PORT, ProxyServer
from faults.proxy.toxics import TOXIC_ATTRIBUTES

__all__ = [
    "API_VERSION",
    "DEFAULT_HOST",
    "DEFAULT_PORT",
    "TOXIC_ATTRIBUTES",
    "BackgroundProxyServer",
    "CannotListen",
    "ProxyServer",
    "serve_until_stopped",
]
