"""The fault proxy's Toxiproxy API under hostile input: bodies nested deep or too large. Every
refusal is a Toxiproxy-shaped 400, never a 5xx, and the server keeps
answering afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from faults.proxy import BackgroundProxyServer

HTTP_TIMEOUT_S = 10.0
UPSTREAM = "127.0.0.1:9"  # never dialled: no test here opens a proxied connection

# Every endpoint that reads a JSON body, with a proxy "api" and its toxic "lag" in place.
BODY_ENDPOINTS = [
    ("POST", "/proxies"),
    ("POST", "/populate"),
    ("POST", "/proxies/api"),
    ("PATCH", "/proxies/api"),
    ("POST", "/proxies/api/toxics"),
    ("POST", "/proxies/api/toxics/lag"),
    ("PATCH", "/proxies/api/toxics/lag"),
]


@pytest.fixture
def server() -> Iterator[BackgroundProxyServer]:
    with BackgroundProxyServer() as running:
        _call(running, "POST", "/proxies", json={"name": "api", "upstream": UPSTREAM})
        _call(running, "POST", "/proxies/api/toxics", json={"type": "latency", "name": "lag"})
        yield running


def _call(
    server: BackgroundProxyServer, method: str, path: str, **kwargs: object
) -> requests.Response:
    return requests.request(method, server.url + path, timeout=HTTP_TIMEOUT_S, **kwargs)


def _assert_bad_request(response: requests.Response, message: str) -> None:
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["status"] == 400
    assert body["error"].startswith("bad request body: ")
    assert message in body["error"]


def _api_still_answers(server: BackgroundProxyServer) -> None:
    assert _call(server, "GET", "/proxies/api/toxics/lag").status_code == 200


@pytest.mark.parametrize(("method", "path"), BODY_ENDPOINTS)
@pytest.mark.parametrize("opening", ["[", '{"":'])
def test_a_body_nested_200000_deep_is_400(
    server: BackgroundProxyServer, method: str, path: str, opening: str
) -> None:
    closing = "]" if opening == "[" else "}"
    deep = opening * 200_000 + "0" + closing * 200_000
    _assert_bad_request(_call(server, method, path, data=deep), "nested deeper than")
    _api_still_answers(server)


def test_nesting_inside_strings_does_not_count(server: BackgroundProxyServer) -> None:
    body = {"name": "[[[{{{" * 20 + '\\"]', "upstream": UPSTREAM}
    assert _call(server, "POST", "/proxies", json=body).status_code == 201


@pytest.mark.parametrize(("method", "path"), BODY_ENDPOINTS)
def test_a_body_over_the_size_limit_is_400(
    server: BackgroundProxyServer, method: str, path: str
) -> None:
    huge = '{"name": "x", "upstream": "' + "a" * 2_000_000 + '"}'
    _assert_bad_request(_call(server, method, path, data=huge), "larger than")
    _api_still_answers(server)
