"""The fault proxy's Toxiproxy API under hostile input: bodies nested deep or too large, names
and addresses too long to use. Every refusal is a Toxiproxy-shaped 400, never a 5xx, and the
server keeps answering afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import quote

import pytest
import requests

from faults.proxy import BackgroundProxyServer
from faults.proxy.names import NAME_BYTES_MAX

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


@pytest.mark.parametrize("field", ["name", "upstream", "listen"])
def test_a_100_kb_proxy_field_is_400_naming_it(server: BackgroundProxyServer, field: str) -> None:
    body = {"name": "long", "upstream": UPSTREAM} | {field: "n" * 100_000 + ":1"}
    _assert_bad_request(_call(server, "POST", "/proxies", json=body), field)
    assert set(_call(server, "GET", "/proxies").json()) == {"api"}


def test_a_long_name_in_populate_is_400_naming_its_place(server: BackgroundProxyServer) -> None:
    proxies = [{"name": "ok", "upstream": UPSTREAM}, {"name": "n" * 100_000, "upstream": UPSTREAM}]
    response = _call(server, "POST", "/populate", json=proxies)
    _assert_bad_request(response, "'name' at proxy 2")
    assert set(_call(server, "GET", "/proxies").json()) == {"api"}


def test_a_100_kb_toxic_name_is_400_naming_it(server: BackgroundProxyServer) -> None:
    body = {"type": "noop", "name": "t" * 100_000}
    _assert_bad_request(_call(server, "POST", "/proxies/api/toxics", json=body), "'name'")
    assert [toxic["name"] for toxic in _call(server, "GET", "/proxies/api/toxics").json()] == [
        "lag"
    ]


def test_names_at_the_limit_are_addressable_on_every_path(server: BackgroundProxyServer) -> None:
    # The worst case for a URL: every byte of both names percent-encoded (4-byte characters).
    proxy = "\N{GRINNING FACE}" * (NAME_BYTES_MAX // 4)
    toxic = "\N{PILE OF POO}" * (NAME_BYTES_MAX // 4)
    created = _call(server, "POST", "/proxies", json={"name": proxy, "upstream": UPSTREAM})
    assert created.status_code == 201, created.text
    proxy_path = "/proxies/" + quote(proxy, safe="")
    added = _call(server, "POST", proxy_path + "/toxics", json={"type": "noop", "name": toxic})
    assert added.status_code == 200, added.text
    toxic_path = proxy_path + "/toxics/" + quote(toxic, safe="")
    for method, path, status in [
        ("GET", proxy_path, 200),
        ("PATCH", proxy_path, 200),
        ("GET", proxy_path + "/toxics", 200),
        ("GET", toxic_path, 200),
        ("PATCH", toxic_path, 200),
        ("GET", toxic_path + "/stats", 200),
        ("DELETE", toxic_path, 204),
        ("DELETE", proxy_path, 204),
    ]:
        assert _call(server, method, path, json={}).status_code == status, (method, path)
    too_long = "n" * (NAME_BYTES_MAX + 1)
    _assert_bad_request(
        _call(server, "POST", "/proxies", json={"name": too_long, "upstream": UPSTREAM}), "'name'"
    )
