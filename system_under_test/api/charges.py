"""Handlers for `/v1/charges`."""

import datetime
import functools
import logging
import time

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from system_under_test.api.charge_request import (
    ChargeRequest,
    InvalidParameter,
    canonical_params,
    parse_charge_request,
)
from system_under_test.api.context import CONFIG, MERCHANT_ID, NETWORK, PRIMARY, REPLICA
from system_under_test.api.errors import api_error, error_response, invalid_request
from system_under_test.network_client import CardNetworkClient, NetworkAnswer, Outcome
from system_under_test.payments import idempotency
from system_under_test.payments.charges.phases import (
    DEFINITIVE_OUTCOMES,
    RECOVERY_POINT_CHARGE_PROCESSING,
    RECOVERY_POINT_STARTED,
    resolve_charge,
    start_charge,
)
from system_under_test.payments.charges.states import FINAL_STATES, ChargeState
from system_under_test.payments.charges.wire import charge_object, final_response
from system_under_test.schema import charges

log = logging.getLogger("paychaos.api")

IDEMPOTENCY_KEY_LENGTH_MAX = 255  # Stripe's documented limit.
LIST_LIMIT_MAX = 100  # Stripe's page size ceiling.
# With the defect on, how many extra sends follow a timeout (each moves money at the network).
DEFECT_RESEND_COUNT_MAX = 3


def _respond(status: int, body: dict, *, replayed: bool = False) -> web.Response:
    headers = {"Idempotent-Replayed": "true"} if replayed else {}
    return web.json_response(body, status=status, headers=headers)


def _in_use() -> web.Response:
    return error_response(
        409,
        type_="idempotency_error",
        code="idempotency_key_in_use",
        message="There is currently another in-progress request using this Idempotency-Key, "
        "or its charge is being resolved. Retry later.",
        should_retry=True,
    )


async def _send_authorization(
    network: CardNetworkClient,
    charge_id: str,
    request: ChargeRequest,
    not_after_ms: int,
    defects: frozenset[str],
) -> NetworkAnswer:
    send = functools.partial(
        network.authorize,
        reference=charge_id,
        card_number=request.card_number,
        amount=request.amount,
        currency=request.currency,
        not_after_ms=not_after_ms,
    )
    answer = await send()
    resends = DEFECT_RESEND_COUNT_MAX if "network-retry-on-timeout" in defects else 0
    for _ in range(resends):
        if answer.outcome is not Outcome.UNKNOWN or time.time() * 1000 >= not_after_ms:
            break
        answer = await send()
    return answer


async def _resume_processing(app: web.Application, claim: idempotency.Proceed) -> web.Response:
    """A retry found the key's charge already created: never send again, answer from it."""
    engine = app[PRIMARY]
    async with engine.connect() as connection:
        charge = (
            (await connection.execute(select(charges).where(charges.c.id == claim.charge_id)))
            .mappings()
            .one()
        )
    if ChargeState(charge["state"]) in FINAL_STATES:
        status, body = final_response(charge)
        await idempotency.finish_key(engine, claim.key_id, status, body)
        return _respond(status, body)
    await idempotency.release_key(engine, claim.key_id)
    return _in_use()


async def create_charge(request: web.Request) -> web.Response:
    """`POST /v1/charges`: claim the key, commit PROCESSING, authorize once, resolve."""
    app = request.app
    engine = app[PRIMARY]
    merchant_id = request[MERCHANT_ID]
    form = {name: str(value) for name, value in (await request.post()).items()}
    parsed = parse_charge_request(form)
    if isinstance(parsed, InvalidParameter):
        return invalid_request(parsed.message, param=parsed.param)
    key = request.headers.get("Idempotency-Key")
    claim: idempotency.Proceed | None = None
    if key is not None:
        if not 1 <= len(key) <= IDEMPOTENCY_KEY_LENGTH_MAX:
            return invalid_request("Idempotency-Key must be 1 to 255 characters")
        outcome = await idempotency.claim_key(
            engine,
            merchant_id=merchant_id,
            key=key,
            method=request.method,
            path=request.path,
            params=canonical_params(form),
        )
        match outcome:
            case idempotency.Replay(status_code, body):
                return _respond(status_code, dict(body), replayed=True)
            case idempotency.ParametersMismatch():
                return error_response(
                    400,
                    type_="idempotency_error",
                    message="Keys for idempotent requests can only be used with the same "
                    "parameters they were first used with.",
                )
            case idempotency.InUse():
                return _in_use()
            case idempotency.Proceed():
                claim = outcome
    if claim is not None and claim.recovery_point == RECOVERY_POINT_CHARGE_PROCESSING:
        return await _resume_processing(app, claim)
    assert claim is None or claim.recovery_point == RECOVERY_POINT_STARTED, claim

    config = app[CONFIG]
    deadline = datetime.datetime.now(datetime.UTC) + datetime.timedelta(
        seconds=config.authorization_ttl_s
    )
    try:
        charge = await start_charge(
            engine,
            merchant_id=merchant_id,
            idempotency_key_id=claim.key_id if claim else None,
            idempotency_key=key,
            amount=parsed.amount,
            currency=parsed.currency,
            card_number=parsed.card_number,
            authorization_deadline=deadline,
        )
    except SQLAlchemyError as error:
        log.warning("start_charge failed: %s", error)
        if claim is not None:
            await _release_quietly(app, claim.key_id)
        return api_error("The charge could not be created; nothing was charged.")

    answer = await _send_authorization(
        app[NETWORK], charge["id"], parsed, int(deadline.timestamp() * 1000), config.defects
    )
    if answer.outcome not in DEFINITIVE_OUTCOMES:
        log.info("authorization of %s unknown (%s): left to recovery", charge["id"], answer.error)
        if claim is not None:
            await _release_quietly(app, claim.key_id)
        return api_error(f"The outcome of charge {charge['id']} is not known yet.", status=502)
    resolved = await resolve_charge(engine, charge["id"], answer, actor="api")
    status, body = final_response(resolved)
    return _respond(status, body)


async def _release_quietly(app: web.Application, key_id: int) -> None:
    # The primary may be what failed; an unreleased lock only delays a retry by LOCK_TTL.
    try:
        await idempotency.release_key(app[PRIMARY], key_id)
    except SQLAlchemyError as error:
        log.warning("could not release idempotency key %s: %s", key_id, error)


async def retrieve_charge(request: web.Request) -> web.Response:
    """`GET /v1/charges/{id}`, read from the primary (authoritative)."""
    async with request.app[PRIMARY].connect() as connection:
        charge = (
            (
                await connection.execute(
                    select(charges).where(
                        charges.c.id == request.match_info["charge_id"],
                        charges.c.merchant_id == request[MERCHANT_ID],
                    )
                )
            )
            .mappings()
            .first()
        )
    if charge is None:
        return invalid_request(
            f"No such charge: '{request.match_info['charge_id']}'", param="id", status=404
        )
    return web.json_response(charge_object(charge))


async def list_charges(request: web.Request) -> web.Response:
    """`GET /v1/charges`, read from the replica: a display read that may lag."""
    try:
        limit = min(int(request.query.get("limit", "10")), LIST_LIMIT_MAX)
    except ValueError:
        return invalid_request("limit must be an integer", param="limit")
    engine = request.app[REPLICA] or request.app[PRIMARY]
    async with engine.connect() as connection:
        rows = (
            (
                await connection.execute(
                    select(charges)
                    .where(charges.c.merchant_id == request[MERCHANT_ID])
                    .order_by(charges.c.created_at.desc())
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
