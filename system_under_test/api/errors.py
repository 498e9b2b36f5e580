"""Answers as aiohttp responses, with Stripe's headers, and the API's own error answers."""

from aiohttp import web

from system_under_test.api.form import InvalidParameter
from system_under_test.payments.errors import StripeError
from system_under_test.payments.wire import Answer


def respond(answer: Answer) -> web.Response:
    """The HTTP response for a domain answer."""
    headers = dict(answer.headers)
    if answer.replayed:
        headers["Idempotent-Replayed"] = "true"
    if answer.should_retry is not None:
        headers["Stripe-Should-Retry"] = "true" if answer.should_retry else "false"
    return web.json_response(dict(answer.body), status=answer.status, headers=headers)


def error_response(
    error: StripeError, *, param: str | None = None, status: int | None = None, **fields: object
) -> web.Response:
    """The response of one error of the table (see `StripeError.answer`)."""
    return respond(error.answer(param=param, status=status, **fields))


def refused(problem: InvalidParameter) -> web.Response:
    """The answer to parameters refused before anything was written."""
    return respond(problem.answer())
