"""One request that creates a money movement, run as atomic phases under its idempotency key.

    claim key  ->  create (commit PROCESSING)  ->  send once  ->  resolve (commit final + response)

A retry that finds the key past `started` resumes there and never sends again: it answers from
the object once it is final. Each defect switch that concerns this path is one small branch
here, named after the defect.
"""

import contextlib
import datetime
import logging
import time
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncEngine

from system_under_test.defects import (
    NETWORK_RETRY_ON_TIMEOUT,
    NO_IDEMPOTENCY,
    SKIP_PROCESSING_STATE,
)
from system_under_test.failpoints import Failpoints
from system_under_test.ids import new_id
from system_under_test.network_client import (
    DEFINITIVE_OUTCOMES,
    CardNetworkClient,
    NetworkAnswer,
    Outcome,
)
from system_under_test.payments import idempotency
from system_under_test.payments.connections import TRANSIENT_ERRORS, Database, connected
from system_under_test.payments.errors import StripeError
from system_under_test.payments.flow import (
    Created,
    Flow,
    NewMovement,
    Parameters,
    Refusal,
    deadline_ms,
)
from system_under_test.payments.movement import read_object, resolve
from system_under_test.payments.states import FINAL_STATES, MovementState
from system_under_test.payments.wire import Answer

log = logging.getLogger("paychaos.payments")

Phased = TypeVar("Phased")

# With the defect on, how many extra sends follow an unknown outcome (each may move money).
DEFECT_RESEND_COUNT_MAX = 3


@dataclass(frozen=True)
class Services:
    """What a request's phases use: both databases, the network, failpoints, settings."""

    # The money paths' connections to the primary (an asyncpg pool in the API; an engine works
    # too, through its raw connections).
    money: Database
    primary: AsyncEngine
    # Display reads only; None when no replica is configured (reads go to the primary).
    replica: AsyncEngine | None
    network: CardNetworkClient
    failpoints: Failpoints
    defects: frozenset[str]
    # How long the network accepts a movement after it was prepared.
    network_ttl: datetime.timedelta
    # A key lock older than this may be taken over.
    lock_ttl: datetime.timedelta


@dataclass(frozen=True)
class MovementRequest(Generic[Parameters]):
    """A validated request to create one movement: data only, its flow says what to run."""

    merchant_id: str
    key: str | None
    fingerprint: idempotency.Fingerprint
    parameters: Parameters


async def execute(
    services: Services, flow: Flow[Parameters], request: MovementRequest[Parameters]
) -> Answer:
    """Run `request` from wherever its key stands, and return the answer to send."""
    claim: idempotency.Proceed | None = None
    if request.key is not None and NO_IDEMPOTENCY not in services.defects:
        decided = await idempotency.claim_key(
            services.money,
            merchant_id=request.merchant_id,
            key=request.key,
            kind=flow.name,
            request=request.fingerprint,
            lock_ttl=services.lock_ttl,
        )
        if not isinstance(decided, idempotency.Proceed):
            return _claim_answer(decided)
        claim = decided
    await services.failpoints.hit(f"{flow.name}.after_claim")
    try:
        if claim is not None and claim.recovery_point != idempotency.STARTED:
            return await _resume(services, flow, claim)
        return await _create_send_resolve(services, flow, request, claim)
    except idempotency.Superseded:
        return StripeError.IDEMPOTENCY_SUPERSEDED.answer()


def _claim_answer(claim: idempotency.Claim) -> Answer:
    match claim:
        case idempotency.Replay(status_code, body):
            return Answer(status_code, dict(body), replayed=True)
        case idempotency.ParametersMismatch():
            return StripeError.IDEMPOTENCY_PARAMETERS_DIFFER.answer()
        case idempotency.InUse():
            return StripeError.IDEMPOTENCY_KEY_IN_USE.answer()
    raise AssertionError(f"not an answer of its own: {claim}")


async def _create_send_resolve(
    services: Services, flow: Flow, request: MovementRequest, claim: idempotency.Proceed | None
) -> Answer:
    object_id = new_id(flow.id_prefix)
    deadline = datetime.datetime.now(datetime.UTC) + services.network_ttl
    created = await _guarded(
        services, claim, _create(services, flow, request, claim, object_id, deadline)
    )
    if isinstance(created, Refusal):
        return created.answer
    created, answer = created
    await services.failpoints.hit(f"{flow.name}.after_processing_commit")
    if answer is None:
        answer = await _send(services, flow, created, deadline)
    if answer.outcome not in DEFINITIVE_OUTCOMES:
        log.info("%s %s unknown (%s): left to recovery", flow.name, object_id, answer.error)
        await _release_quietly(services, claim)
        return StripeError.OUTCOME_UNKNOWN.answer(movement=flow.name, object_id=object_id)
    row = await _guarded(
        services,
        claim,
        resolve(
            services.money,
            flow,
            object_id,
            answer,
            actor="api",
            claim=claim,
            processing_row=created.row,
            transaction_id=created.posting_id,
        ),
    )
    await services.failpoints.hit(f"{flow.name}.after_resolve_commit")
    status, body = flow.final_response(row)
    return Answer(status, body)


async def _create(
    services: Services,
    flow: Flow,
    request: MovementRequest,
    claim: idempotency.Proceed | None,
    object_id: str,
    deadline: datetime.datetime,
) -> tuple[Created, NetworkAnswer | None] | Refusal:
    """The create phase: move the key to the processing point (fenced, and holding its row
    lock), then the kind's own work; a refusal forgets the key, so nothing stays written.

    Returns the network's answer too when the skip-processing-state defect sent it already.
    """
    advance = None
    if claim is not None:
        advance = idempotency.advance_of(claim, idempotency.processing_point(flow.name))
    new = NewMovement(
        object_id,
        deadline,
        request.merchant_id,
        request.key,
        advance,
        services.defects,
        services.replica,
    )
    skip_processing = SKIP_PROCESSING_STATE in services.defects
    explicit = skip_processing or not flow.create_is_one_statement
    async with connected(services.money) as connection:
        transaction = connection.transaction() if explicit else contextlib.nullcontext()
        async with transaction:
            created = await flow.create(connection, new, request.parameters)
            if isinstance(created, Refusal):
                assert explicit, f"{flow.name}: a one-statement create phase refused"
                if claim is not None:
                    await idempotency.forget(connection, claim)
                return created
            early = None
            if skip_processing:
                # The defect: the network hears of the movement before PROCESSING is
                # committed, so a crash or a failed commit here leaves money moved and no
                # object to recover.
                early = await _send(services, flow, created, deadline)
    return created, early


async def _send(
    services: Services, flow: Flow, created: Created, deadline: datetime.datetime
) -> NetworkAnswer:
    """The one foreign call of the movement (more only under its defect)."""
    not_after_ms = deadline_ms(deadline)

    async def send_once() -> NetworkAnswer:
        return await services.network.send(
            flow.network_kind,
            reference=created.row["id"],
            fields=created.send_fields,
            not_after_ms=not_after_ms,
        )

    answer = await send_once()
    resends = DEFECT_RESEND_COUNT_MAX if NETWORK_RETRY_ON_TIMEOUT in services.defects else 0
    for _ in range(resends):
        if answer.outcome is not Outcome.UNKNOWN or time.time() * 1000 >= not_after_ms:
            break
        answer = await send_once()
    await services.failpoints.hit(f"{flow.name}.after_send")
    return answer


async def _resume(services: Services, flow: Flow, claim: idempotency.Proceed) -> Answer:
    """A retry found its object created: answer from it once final, never send again."""
    assert claim.object_id is not None, f"key {claim.key_id} past started without an object"
    row = await read_object(services.money, flow, claim.object_id)
    assert row is not None, f"key {claim.key_id} names {claim.object_id}, which does not exist"
    if MovementState(row["state"]) in FINAL_STATES:
        status, body = flow.final_response(row)
        async with connected(services.money) as connection:
            await idempotency.store_final(connection, claim, claim.object_id, status, body)
        return Answer(status, body)
    await idempotency.release(services.money, claim)
    return StripeError.OBJECT_STILL_RESOLVING.answer(movement=flow.name, object_id=claim.object_id)


async def _guarded(
    services: Services, claim: idempotency.Proceed | None, phase: Awaitable[Phased]
) -> Phased:
    """Run a phase; on a database error unlock the key and re-raise. The phase rolled back,
    or, when the connection broke or timed out during its commit, may have committed: either
    way the key's recovery point says where a retry resumes, so unlocking it is safe."""
    try:
        return await phase
    except TRANSIENT_ERRORS:
        await _release_quietly(services, claim)
        raise


async def _release_quietly(services: Services, claim: idempotency.Proceed | None) -> None:
    # The primary may be what failed; an unreleased lock only delays a retry by the lock TTL.
    if claim is None:
        return
    try:
        await idempotency.release(services.money, claim)
    except (*TRANSIENT_ERRORS, idempotency.Superseded) as error:
        log.warning("could not release idempotency key %s: %s", claim.key_id, error)
