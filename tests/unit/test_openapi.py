import jsonschema
import pytest
from openapi_spec_validator import validate

from system_under_test.api.openapi import DOCUMENT, PATHS
from system_under_test.api.params import parse_charge
from system_under_test.payments.requests import ChargeRequest


def test_the_document_is_valid_openapi():
    validate(DOCUMENT)


def test_every_route_of_the_api_is_documented():
    from system_under_test.api.app import make_app
    from system_under_test.config import ServiceConfig
    from system_under_test.failpoints import Failpoints

    config = ServiceConfig(
        primary_dsn="postgresql+asyncpg://postgres@127.0.0.1:1/paychaos",
        replica_dsn=None,
        network_url="http://127.0.0.1:2",
        defects=frozenset(),
        test_mode=False,
        network_ttl_s=5.0,
        network_timeout_s=1.5,
        lock_ttl_s=15.0,
    )
    app = make_app(config, Failpoints())
    routes = {
        (route.method.lower(), route.resource.canonical)
        for route in app.router.routes()
        if route.method != "HEAD"
    }
    documented = {(method, path) for path, operations in PATHS.items() for method in operations}
    assert routes == documented


def _valid(schema: dict, instance: object) -> bool:
    return jsonschema.Draft202012Validator(schema).is_valid(instance)


def _form_schema(path: str) -> dict:
    body = PATHS[path]["post"]["requestBody"]["content"]
    return body["application/x-www-form-urlencoded"]["schema"]


@pytest.mark.parametrize(
    ("form", "valid"),
    [
        ({"amount": 50, "currency": "usd", "source": "tok_visa"}, True),
        ({"amount": 30, "currency": "GBP", "card[number]": "4242424242424242"}, True),
        ({"amount": 49, "currency": "usd", "source": "tok_visa"}, False),
        ({"amount": 0, "currency": "gbp", "source": "tok_visa"}, False),
        ({"amount": 500, "currency": "xyz", "source": "tok_visa"}, False),
        ({"amount": 500, "currency": "usd"}, False),
        ({"amount": 500, "currency": "usd", "source": ""}, False),
        ({"amount": 500, "currency": "usd", "source": "tok_visa", "metadata[order]": "7"}, True),
        ({"amount": 500, "currency": "usd", "source": "tok_visa", "expand": "x"}, False),
    ],
)
def test_the_charge_form_is_what_the_api_accepts(form, valid):
    assert _valid(_form_schema("/v1/charges"), form) is valid
    parsed = parse_charge({name: str(value) for name, value in form.items()})
    assert isinstance(parsed, ChargeRequest) is valid


def test_a_refund_names_its_charge():
    assert not _valid(_form_schema("/v1/refunds"), {"charge": ""})
    assert _valid(_form_schema("/v1/refunds"), {"charge": "ch_1"})


@pytest.mark.parametrize("path", ["/v1/charges", "/v1/refunds", "/v1/payouts"])
def test_a_list_cursor_is_never_empty(path):
    cursors = [p for p in PATHS[path]["get"]["parameters"] if p["name"] == "ending_before"]
    assert not _valid(cursors[0]["schema"], "")
    assert _valid(cursors[0]["schema"], "ch_1")
