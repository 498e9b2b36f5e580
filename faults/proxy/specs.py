"""Validation of proxy bodies (create, update, populate) into `ProxySpec`s. No I/O here."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from faults.proxy import errors
from faults.proxy.address import parse_address
from faults.proxy.names import bounded_name

# Toxiproxy binds every interface on a random port when `listen` is left out; loopback keeps a
# fault proxy from being reachable from other machines by accident.
DEFAULT_LISTEN = "127.0.0.1:0"


@dataclass(frozen=True)
class ProxySpec:
    """What a proxy should be: its name, listen and upstream addresses, and whether it is on."""

    name: str
    listen: str
    upstream: str
    enabled: bool


def _fields(body: object) -> Mapping[str, object]:
    if not isinstance(body, dict):
        raise errors.bad_request_body("expected a JSON object")
    return body


def _string(fields: Mapping[str, object], key: str) -> str | None:
    value = fields.get(key)
    if value is not None and not isinstance(value, str):
        raise errors.bad_request_body(f"field {key!r} must be a string, got {value!r}")
    return value


def _address(fields: Mapping[str, object], key: str, default: str) -> str:
    value = _string(fields, key) or default
    try:
        parse_address(value)
    except ValueError as error:
        raise errors.bad_request_body(f"{key}: {error}") from None
    return value


def _enabled(fields: Mapping[str, object], default: bool) -> bool:
    value = fields.get("enabled")
    if value is None:
        return default
    if not isinstance(value, bool):
        raise errors.bad_request_body(f"field 'enabled' must be true or false, got {value!r}")
    return value


def _required(fields: Mapping[str, object], key: str, where: str) -> str:
    value = _string(fields, key)
    if not value:
        raise errors.missing_field(key + where)
    return value


def _parse_new(body: object, where: str) -> ProxySpec:
    fields = _fields(body)
    name = bounded_name(_required(fields, "name", where), "name", where)
    _required(fields, "upstream", where)
    return ProxySpec(
        name=name,
        listen=_address(fields, "listen", DEFAULT_LISTEN),
        upstream=_address(fields, "upstream", ""),
        enabled=_enabled(fields, True),
    )


def parse_proxy_create(body: object) -> ProxySpec:
    """Validate a POST /proxies body; `enabled` defaults to true and `listen` to loopback.

    >>> parse_proxy_create({"name": "api", "upstream": "127.0.0.1:8080"})
    ProxySpec(name='api', listen='127.0.0.1:0', upstream='127.0.0.1:8080', enabled=True)
    """
    return _parse_new(body, "")


def parse_proxy_update(body: object, current: ProxySpec) -> ProxySpec:
    """Validate a POST/PATCH /proxies/{p} body; omitted or null fields keep `current` values.

    >>> current = ProxySpec("api", "127.0.0.1:9000", "127.0.0.1:8080", True)
    >>> parse_proxy_update({"enabled": False}, current).enabled
    False
    """
    fields = _fields(body)
    return replace(
        current,
        listen=_address(fields, "listen", current.listen),
        upstream=_address(fields, "upstream", current.upstream),
        enabled=_enabled(fields, current.enabled),
    )


def parse_populate(body: object) -> list[ProxySpec]:
    """Validate a POST /populate body (a JSON array of proxies), all of it before any change.

    >>> parse_populate([{"name": "api", "upstream": "127.0.0.1:8080"}])[0].name
    'api'
    """
    if not isinstance(body, list):
        raise errors.bad_request_body("expected a JSON array of proxies")
    return [_parse_new(item, f" at proxy {index}") for index, item in enumerate(body, start=1)]
