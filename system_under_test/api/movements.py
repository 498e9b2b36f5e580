"""Handlers for charges, refunds, payouts and the balance: parse, then hand over to the domain."""

from collections.abc import Callable
from typing import Any

from aiohttp import web
from sqlalchemy import select

from system_under_test.api.context import MERCHANT_ID, SERVICES
from system_under_test.api.errors import invalid_request, respond
from system_under_test.api.params import (
    InvalidParameter,
    canonical_params,
    form_problem,
    idempotency_key_problem,
    object_id_problem,
    parse_charge,
    parse_limit,
    parse_payout,
    parse_refund,
)
from system_under_test.payments import execution, idempotency
from system_under_test.payments.balance import balance_object
from system_under_test.payments.charges import phases as charge_phases
from system_under_test.payments.charges.wire import charge_object
from system_under_test.payments.movement import Flow
from system_under_test.payments.payouts import phases as payout_phases
from system_under_test.payments.payouts.wire import payout_object
from system_under_test.payments.refunds import phases as refund_phases
from system_under_test.payments.refunds.wire import refund_object


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


def _refused(problem: InvalidParameter) -> web.Response:
    return invalid_request(problem.message, param=problem.param, code=problem.code)


async def _execute(
    request: web.Request, flow: Flow, form: dict[str, str], create: execution.CreatePhase
) -> web.Response:
    key = request.headers.get("Idempotency-Key")
    if key is not None:
        problem = idempotency_key_problem(key)
        if problem is not None:
            return invalid_request(problem)
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
    if isinstance(form, InvalidParameter):
        return _refused(form)
    parsed = parse_charge(form)
    if isinstance(parsed, InvalidParameter):
        return _refused(parsed)
    create = charge_phases.create_phase(
        merchant_id=request[MERCHANT_ID],
        key=request.headers.get("Idempotency-Key"),
        amount=parsed.amount,
        currency=parsed.currency,
        card_number=parsed.card_number,
    )
    return await _execute(request, charge_phases.FLOW, form, create)


async def create_refund(request: web.Request) -> web.Response:
    """`POST /v1/refunds`."""
    form = await _form(request)
    if isinstance(form, InvalidParameter):
        return _refused(form)
    parsed = parse_refund(form)
    if isinstance(parsed, InvalidParameter):
        return _refused(parsed)
    services = request.app[SERVICES]
    create = refund_phases.create_phase(
        merchant_id=request[MERCHANT_ID],
        key=request.headers.get("Idempotency-Key"),
        charge_id=parsed.charge_id,
        amount=parsed.amount,
        defects=services.defects,
        replica=services.replica,
    )
    return await _execute(request, refund_phases.FLOW, form, create)


async def create_payout(request: web.Request) -> web.Response:
    """`POST /v1/payouts`."""
    form = await _form(request)
    if isinstance(form, InvalidParameter):
        return _refused(form)
    parsed = parse_payout(form)
    if isinstance(parsed, InvalidParameter):
        return _refused(parsed)
    services = request.app[SERVICES]
    create = payout_phases.create_phase(
        merchant_id=request[MERCHANT_ID],
        key=request.headers.get("Idempotency-Key"),
        amount=parsed.amount,
        currency=parsed.currency,
        defects=services.defects,
        replica=services.replica,
    )
    return await _execute(request, payout_phases.FLOW, form, create)


def _no_such(flow: Flow, object_id: str) -> web.Response:
    shown = object_id[:40] if object_id_problem(object_id) is None else repr(object_id[:40])
    return invalid_request(
        f"No such {flow.name}: {shown}", param="id", code="resource_missing", status=404
    )


def retrieve(flow: Flow, to_wire: Callable[[Any], dict[str, Any]], match_name: str):
    """`GET /v1/<objects>/{id}`, read from the primary (authoritative: a read-back after an
    acknowledged write must see it). Another merchant's object does not exist."""

    async def handler(request: web.Request) -> web.Response:
        object_id = request.match_info[match_name]
        if object_id_problem(object_id) is not None:
            return _no_such(flow, object_id)
        async with request.app[SERVICES].primary.connect() as connection:
            row = (
                (
                    await connection.execute(
                        select(flow.table).where(
                            flow.table.c.id == object_id,
                            flow.table.c.merchant_id == request[MERCHANT_ID],
                        )
                    )
                )
                .mappings()
                .first()
            )
        if row is None:
            return invalid_request(
                f"No such {flow.name}: '{object_id}'",
                param="id",
                code="resource_missing",
                status=404,
            )
        return web.json_response(to_wire(row))

    return handler


retrieve_charge = retrieve(charge_phases.FLOW, charge_object, "charge_id")
retrieve_refund = retrieve(refund_phases.FLOW, refund_object, "refund_id")
retrieve_payout = retrieve(payout_phases.FLOW, payout_object, "payout_id")


async def retrieve_balance(request: web.Request) -> web.Response:
    """`GET /v1/balance`: a display read, on the replica (it may lag behind the primary)."""
    services = request.app[SERVICES]
    engine = services.replica or services.primary
    return web.json_response(await balance_object(engine, request[MERCHANT_ID]))


async def list_charges(request: web.Request) -> web.Response:
    """`GET /v1/charges`, read from the replica: a display read that may lag."""
    limit = parse_limit(request.query)
    if isinstance(limit, InvalidParameter):
        return _refused(limit)
    services = request.app[SERVICES]
    engine = services.replica or services.primary
    table = charge_phases.FLOW.table
    async with engine.connect() as connection:
        rows = (
            (
                await connection.execute(
                    select(table)
                    .where(table.c.merchant_id == request[MERCHANT_ID])
                    .order_by(table.c.created_at.desc())
                    .limit(limit)
                )
            )
            .mappings()
            .all()
        )
    return web.json_response(
        {
            "object": "list",
            "url": "/v1/charges",
            "has_more": len(rows) == limit,
            "data": [charge_object(row) for row in rows],
        }
    )
