"""Answers as aiohttp responses, with Stripe's headers, and the API's own error answers."""

from aiohttp import web

from system_under_test.api.params import InvalidParameter
from system_under_test.payments import wire
from system_under_test.payments.wire import Answer


def respond(answer: Answer) -> web.Response:
    """The HTTP response for a domain answer."""
    headers = dict(answer.headers)
    if answer.replayed:
        headers["Idempotent-Replayed"] = "true"
    if answer.should_retry is not None:
        headers["Stripe-Should-Retry"] = "true" if answer.should_retry else "false"
    return web.json_response(dict(answer.body), status=answer.status, headers=headers)


def invalid_request(
    message: str, *, param: str | None = None, code: str | None = None, status: int = 400
) -> web.Response:
    """A Stripe `invalid_request_error` response (not retryable)."""
    return respond(wire.invalid_request(message, param=param, code=code, status=status))


def refused(problem: InvalidParameter) -> web.Response:
    """The answer to parameters refused before anything was written."""
    return respond(
        wire.error_answer(
            problem.status,
            type_=problem.type_,
            message=problem.message,
            code=problem.code,
            should_retry=False,
            **({"param": problem.param} if problem.param else {}),
        )
    )


def api_error(message: str, *, status: int = 500) -> web.Response:
    """A Stripe `api_error` response, which the client may retry."""
    return respond(wire.error_answer(status, type_="api_error", message=message, should_retry=True))
