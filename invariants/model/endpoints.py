"""``endpoints.json`` and ``merchants.json``: where a started topology's services are, and the
test merchants seeded for the workload (ids and secret API keys).

A deployment backend gives its endpoints as data (``system_under_test.deploy.Endpoints``:
the deployment layer imports nothing of the harness); the scenarios layer writes them here,
and a test holds these fields equal to that type's. Tests and users read them back through
:func:`load_endpoints` and :func:`load_merchants`.
"""

from pathlib import Path

import msgspec

from invariants.model.records import encode_document, load_document, validation_problem


class MerchantRecord(msgspec.Struct, frozen=True):
    """A seeded test merchant and its secret key (the only place the plain key is kept)."""

    id: str
    api_key: str


class EndpointsRecord(msgspec.Struct, frozen=True, kw_only=True):
    """Where everything of a started topology is; addresses are ``host:port``."""

    backend: str
    run_dir: str
    proxy_api: str
    # Service name -> its own address (behind the proxy).
    services: dict[str, str]
    # Proxy name -> {"listen": address, "upstream": address}.
    links: dict[str, dict[str, str]]
    # The workload's address of the API: through the `api` link.
    api_url: str
    # Direct addresses for final reads, which bypass every fault.
    primary_dsn: str
    network_url: str
    merchants: tuple[MerchantRecord, ...]
    defects: tuple[str, ...] = ()
    # Service name -> base URL of its admin endpoint (test mode: failpoints), on loopback.
    admin_urls: dict[str, str] = {}


def endpoints_record(endpoints: object) -> EndpointsRecord:
    """A backend's endpoints (any object with these fields as attributes) as the record."""
    try:
        return msgspec.convert(endpoints, EndpointsRecord, from_attributes=True)
    except msgspec.ValidationError as error:
        raise validation_problem(error, "topology endpoints") from None


def encode_endpoints(record: EndpointsRecord) -> bytes:
    """``endpoints.json`` as written: what :func:`load_endpoints` reads back."""
    return encode_document(record)


def load_endpoints(path: Path) -> EndpointsRecord:
    """Load and validate ``endpoints.json``; errors name the file and the field.

    >>> load_endpoints(Path("reports/runs/latest/endpoints.json")).api_url  # doctest: +SKIP
    'http://127.0.0.1:40123'
    """
    return load_document(path, _ENDPOINTS_DECODER)


def encode_merchants(merchants: tuple[MerchantRecord, ...]) -> bytes:
    """``merchants.json`` as written: a list of ``{"id", "api_key"}``."""
    return encode_document(merchants)


def load_merchants(path: Path) -> tuple[MerchantRecord, ...]:
    """Load and validate ``merchants.json``; errors name the file and the merchant."""
    return load_document(path, _MERCHANTS_DECODER)


_ENDPOINTS_DECODER = msgspec.json.Decoder(EndpointsRecord)
_MERCHANTS_DECODER = msgspec.json.Decoder(tuple[MerchantRecord, ...])
