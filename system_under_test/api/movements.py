"""Handlers that create charges, refunds and payouts: parse, then hand over to the domain."""

from aiohttp import web

from system_under_test.api.context import MERCHANT_ID, SERVICES
from system_under_test.api.errors import invalid_request, refused, respond
from system_under_test.api.params import (
    InvalidParameter,
    canonical_params,
    form_problem,
    idempotency_key_problem,
    parse_charge,
    parse_payout,
    parse_refund,
)
from system_under_test.payments import execution, idempotency
from system_under_test.payments.charges import phases as charge_phases
from system_under_test.payments.flow import Flow
from system_under_test.payments.payouts import phases as payout_phases
from system_under_test.payments.refunds import phases as refund_phases


async def _form(request: web.Request) -> dict[str, str] | InvalidParameter:
    """The form parameters, or why the body cannot be read as a form."""
    try:
        posted = await request.post()
    except (UnicodeDecodeError, ValueError, LookupError) as error:
        # Undecodable bytes, a broken multipart boundary, an unknown charset.
        return InvalidParameter(
            None, f"The request body is not a valid form: {error}", "parameter_invalid"
        )
    form = {name: str(value) for name, value in posted.items()}
    return form_problem(form) or form


async def _execute(
    request: web.Request, flow: Flow, form: dict[str, str], create: execution.CreatePhase
) -> web.Response:
    key = request.headers.get("Idempotency-Key")
    if key is not None:
        problem = idempotency_key_problem(key)
        if problem is not None:
            return invalid_request(problem, code="parameter_invalid")
    movement = execution.MovementRequest(
        merchant_id=request[MERCHANT_ID],
        key=key,
        fingerprint=idempotency.Fingerprint(request.method, request.path, canonical_params(form)),
        create=create,
    )
    return respond(await execution.execute(request.app[SERVICES], flow, movement))


async def create_charge(request: web.Request) -> web.Response:
    """`POST /v1/charges`."""
    form = await _form(request)
    parsed = form if isinstance(form, InvalidParameter) else parse_charge(form)
    if isinstance(parsed, InvalidParameter):
        return refused(parsed)
    assert isinstance(form, dict)
    create = charge_phases.create_phase(
        merchant_id=request[MERCHANT_ID],
        key=request.headers.get("Idempotency-Key"),
        amount=parsed.amount,
        currency=parsed.currency,
        card_number=parsed.card_number,
        description=parsed.description,
        metadata=parsed.metadata,
    )
    return await _execute(request, charge_phases.FLOW, form, create)


async def create_refund(request: web.Request) -> web.Response:
    """`POST /v1/refunds`."""
    form = await _form(request)
    parsed = form if isinstance(form, InvalidParameter) else parse_refund(form)
    if isinstance(parsed, InvalidParameter):
        return refused(parsed)
    assert isinstance(form, dict)
    services = request.app[SERVICES]
    create = refund_phases.create_phase(
        merchant_id=request[MERCHANT_ID],
        key=request.headers.get("Idempotency-Key"),
        charge_id=parsed.charge_id,
        amount=parsed.amount,
        defects=services.defects,
        replica=services.replica,
        metadata=parsed.metadata,
    )
    return await _execute(request, refund_phases.FLOW, form, create)


async def create_payout(request: web.Request) -> web.Response:
    """`POST /v1/payouts`."""
    form = await _form(request)
    parsed = form if isinstance(form, InvalidParameter) else parse_payout(form)
    if isinstance(parsed, InvalidParameter):
        return refused(parsed)
    assert isinstance(form, dict)
    services = request.app[SERVICES]
    create = payout_phases.create_phase(
        merchant_id=request[MERCHANT_ID],
        key=request.headers.get("Idempotency-Key"),
        amount=parsed.amount,
        currency=parsed.currency,
        defects=services.defects,
        replica=services.replica,
        description=parsed.description,
        metadata=parsed.metadata,
    )
    return await _execute(request, payout_phases.FLOW, form, create)
