"""A small async client of the Toxiproxy HTTP API, with every call bounded in time.

toxiproxy-python (the reference client, tested against our proxy) keeps its address in class
attributes and sets no timeouts; a campaign needs bounded, async calls, so it uses this.
"""

from typing import Any

import aiohttp

# One API call; the proxy answers in milliseconds, so this only catches a hung proxy.
API_CALL_TIMEOUT_S = 5.0


class ToxiproxyError(RuntimeError):
    """The proxy API refused a call or did not answer."""


class ToxiproxyApi:
    """Calls to a Toxiproxy-compatible server at `host:port`."""

    def __init__(self, address: str) -> None:
        self._base_url = f"http://{address}"
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> "ToxiproxyApi":
        self._session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=API_CALL_TIMEOUT_S)
        )
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._session is not None
        await self._session.close()

    async def _call(self, method: str, path: str, body: object = None) -> Any:
        assert self._session is not None, "use ToxiproxyApi as an async context manager"
        try:
            async with self._session.request(method, self._base_url + path, json=body) as answer:
                text = await answer.text()
                if answer.status >= 400:
                    raise ToxiproxyError(f"{method} {path}: {answer.status} {text.strip()}")
                return await answer.json(content_type=None) if text else None
        except (aiohttp.ClientError, TimeoutError) as error:
            raise ToxiproxyError(f"{method} {path}: {type(error).__name__}: {error}") from None

    async def add_toxic(
        self,
        proxy: str,
        *,
        name: str,
        type: str,
        stream: str = "downstream",
        toxicity: float = 1.0,
        attributes: dict[str, int] | None = None,
    ) -> dict[str, Any]:
        """Add a toxic; it applies to the proxy's open connections too."""
        return await self._call(
            "POST",
            f"/proxies/{proxy}/toxics",
            {
                "name": name,
                "type": type,
                "stream": stream,
                "toxicity": toxicity,
                "attributes": attributes or {},
            },
        )

    async def update_proxy(self, proxy: str, **fields: object) -> dict[str, Any]:
        """Change a proxy: `enabled`, `upstream` or `listen` (omitted fields keep values)."""
        return await self._call("POST", f"/proxies/{proxy}", fields)

    async def remove_toxic(self, proxy: str, name: str) -> None:
        await self._call("DELETE", f"/proxies/{proxy}/toxics/{name}")

    async def toxic_stats(self, proxy: str, name: str) -> dict[str, Any]:
        """What a toxic did so far (connections affected and spared, bytes affected): this
        proxy's own route, outside the Toxiproxy API; a real Toxiproxy answers 404."""
        return await self._call("GET", f"/proxies/{proxy}/toxics/{name}/stats")

    async def decisions(self) -> dict[str, Any]:
        """Every toxicity roll of the proxy so far (this proxy's own route, as above)."""
        return await self._call("GET", "/paychaos/decisions")

    async def reset(self) -> None:
        """Heal every link: re-enable all proxies and remove all toxics."""
        await self._call("POST", "/reset")
