"""Stripe error responses."""

from aiohttp import web

from system_under_test.payments.charges.wire import error_body


def error_response(
    status: int,
    *,
    type_: str,
    message: str,
    code: str | None = None,
    should_retry: bool | None = None,
    **extra: object,
) -> web.Response:
    """A JSON error in Stripe's shape, with `Stripe-Should-Retry` when the answer is known."""
    headers = {}
    if should_retry is not None:
        headers["Stripe-Should-Retry"] = "true" if should_retry else "false"
    return web.json_response(
        error_body(type_=type_, message=message, code=code, **extra), status=status, headers=headers
    )


def invalid_request(message: str, *, param: str | None = None, status: int = 400) -> web.Response:
    extra = {"param": param} if param else {}
    return error_response(status, type_="invalid_request_error", message=message, **extra)


def api_error(message: str, *, status: int = 500) -> web.Response:
    return error_response(status, type_="api_error", message=message, should_retry=True)
