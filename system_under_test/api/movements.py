"""Handlers that create charges, refunds and payouts: parse, then hand the parsed request (data)
to the flow's phases (payments.execution)."""

from collections.abc import Callable, Mapping

from aiohttp import web

from system_under_test.api.context import MERCHANT_ID, SERVICES
from system_under_test.api.errors import refused, respond
from system_under_test.api.form import (
    InvalidParameter,
    canonical_params,
    form_problem,
    idempotency_key_problem,
)
from system_under_test.api.params import parse_charge, parse_payout, parse_refund
from system_under_test.payments import execution, idempotency
from system_under_test.payments.charges import phases as charge_phases
from system_under_test.payments.errors import StripeError
from system_under_test.payments.flow import Flow, Parameters
from system_under_test.payments.payouts import phases as payout_phases
from system_under_test.payments.refunds import phases as refund_phases

IDEMPOTENCY_KEY_HEADER = "Idempotency-Key"


async def _form(request: web.Request) -> dict[str, str] | InvalidParameter:
    """The form parameters, or why the body cannot be read as a form."""
    try:
        posted = await request.post()
    except (UnicodeDecodeError, ValueError, LookupError) as error:
        # Undecodable bytes, a broken multipart boundary, an unknown charset.
        return InvalidParameter(StripeError.FORM_UNREADABLE, None, {"reason": error})
    form = {name: str(value) for name, value in posted.items()}
    return form_problem(form) or form


def _idempotency_key(request: web.Request) -> str | InvalidParameter | None:
    """The request's Idempotency-Key (the one place it is read), None without one, or why it
    is refused."""
    key = request.headers.get(IDEMPOTENCY_KEY_HEADER)
    if key is None:
        return None
    problem = idempotency_key_problem(key)
    return key if problem is None else problem


async def _create(
    request: web.Request,
    flow: Flow[Parameters],
    parse: Callable[[Mapping[str, str]], Parameters | InvalidParameter],
) -> web.Response:
    """Read the form and the key, parse the form, and run the flow's phases on what was
    parsed. A bad key is named before the parameters: a card error (402) comes only once
    everything else is well formed."""
    form = await _form(request)
    if isinstance(form, InvalidParameter):
        return refused(form)
    key = _idempotency_key(request)
    if isinstance(key, InvalidParameter):
        return refused(key)
    parsed = parse(form)
    if isinstance(parsed, InvalidParameter):
        return refused(parsed)
    movement = execution.MovementRequest(
        merchant_id=request[MERCHANT_ID],
        key=key,
        fingerprint=idempotency.Fingerprint(request.method, request.path, canonical_params(form)),
        parameters=parsed,
    )
    return respond(await execution.execute(request.app[SERVICES], flow, movement))


async def create_charge(request: web.Request) -> web.Response:
    """`POST /v1/charges`."""
    return await _create(request, charge_phases.FLOW, parse_charge)


async def create_refund(request: web.Request) -> web.Response:
    """`POST /v1/refunds`."""
    return await _create(request, refund_phases.FLOW, parse_refund)


async def create_payout(request: web.Request) -> web.Response:
    """`POST /v1/payouts`."""
    return await _create(request, payout_phases.FLOW, parse_payout)
