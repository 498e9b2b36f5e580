"""Finish movements left PROCESSING by asking the network for the outcome, never by sending
again.

A movement is looked up only once its deadline has passed: the network refuses a movement after
that deadline, and records one before it answers, so from then on the look-up is definitive.
The answer is applied by the resolve phase the API runs (payments.movement), unfenced, on the
same kind of connection (an asyncpg pool; payments.sql says why).
"""

import datetime
import logging

from sqlalchemy import func, select

from system_under_test.failpoints import Failpoints
from system_under_test.network_client import DEFINITIVE_OUTCOMES, CardNetworkClient
from system_under_test.payments.connections import Database, connected
from system_under_test.payments.flow import Flow
from system_under_test.payments.flows import FLOWS
from system_under_test.payments.movement import resolve
from system_under_test.payments.sql import compiled
from system_under_test.payments.states import MovementState

log = logging.getLogger("paychaos.recovery")

# Movements resolved per kind and pass: bounds one pass's duration under a backlog.
RECOVERY_BATCH_MAX = 50
# Slack after the deadline for the network's last accepted movement to be on disk.
DEADLINE_MARGIN = datetime.timedelta(seconds=1)

# Per flow: the overdue PROCESSING objects, oldest deadline first, one batch.
OVERDUE = {
    name: compiled(
        select(flow.table.c.id)
        .where(
            flow.table.c.state == MovementState.PROCESSING,
            flow.table.c.deadline < func.now() - DEADLINE_MARGIN,
        )
        .order_by(flow.table.c.deadline)
        .limit(RECOVERY_BATCH_MAX)
    )
    for name, flow in FLOWS.items()
}


async def recover_once(
    database: Database, network: CardNetworkClient, failpoints: Failpoints | None = None
) -> int:
    """One pass over overdue PROCESSING charges, refunds and payouts; returns how many were
    resolved."""
    failpoints = failpoints or Failpoints()
    resolved = 0
    for flow in FLOWS.values():
        count, reachable = await _recover_flow(database, network, flow, failpoints)
        resolved += count
        if not reachable:
            break
    return resolved


async def _recover_flow(
    database: Database, network: CardNetworkClient, flow: Flow, failpoints: Failpoints
) -> tuple[int, bool]:
    async with connected(database) as connection:
        overdue = [row["id"] for row in await OVERDUE[flow.name].fetch(connection)]
    resolved = 0
    for object_id in overdue:
        answer = await network.look_up(flow.network_kind, object_id)
        if answer.outcome not in DEFINITIVE_OUTCOMES:
            # The network is likely unreachable: each further look-up would wait out its
            # timeout too, so the pass ends and the next one tries again.
            log.info("look-up of %s unknown (%s); next pass", object_id, answer.error)
            return resolved, False
        await failpoints.hit("recovery.after_look_up")
        row = await resolve(database, flow, object_id, answer, actor="recovery", claim=None)
        await failpoints.hit("recovery.after_resolve_commit")
        log.info("recovered %s %s: %s (%s)", flow.name, object_id, row["state"], answer.outcome)
        resolved += 1
    return resolved, True
