from openapi_spec_validator import validate

from system_under_test.api.openapi import DOCUMENT, PATHS


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
