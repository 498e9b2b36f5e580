"""Finish charges left PROCESSING by asking the network for the outcome, never by sending again.

A charge is looked up only once its authorization deadline has passed: the network refuses an
authorization after that deadline, and records one before it answers, so from then on the
look-up is definitive.
"""

import datetime
import logging

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from system_under_test.network_client import CardNetworkClient
from system_under_test.payments.charges.phases import DEFINITIVE_OUTCOMES, resolve_charge
from system_under_test.payments.charges.states import ChargeState
from system_under_test.schema import charges

log = logging.getLogger("paychaos.recovery")

# Charges resolved per pass: bounds one pass's duration under a backlog.
RECOVERY_BATCH_MAX = 50
# Slack after the deadline for the network's last accepted authorization to be on disk.
DEADLINE_MARGIN = datetime.timedelta(seconds=1)


async def recover_once(engine: AsyncEngine, network: CardNetworkClient) -> int:
    """One pass over overdue PROCESSING charges; returns how many were resolved."""
    async with engine.connect() as connection:
        overdue = (
            await connection.scalars(
                select(charges.c.id)
                .where(
                    charges.c.state == ChargeState.PROCESSING,
                    charges.c.authorization_deadline < func.now() - DEADLINE_MARGIN,
                )
                .order_by(charges.c.authorization_deadline)
                .limit(RECOVERY_BATCH_MAX)
            )
        ).all()
    resolved = 0
    for charge_id in overdue:
        answer = await network.look_up(charge_id)
        if answer.outcome not in DEFINITIVE_OUTCOMES:
            # The network is likely unreachable: each further look-up would wait out its
            # timeout too, so the pass ends and the next one tries again.
            log.info("look-up of %s unknown (%s); next pass", charge_id, answer.error)
            break
        charge = await resolve_charge(engine, charge_id, answer, actor="recovery")
        log.info("recovered %s: %s (%s)", charge_id, charge["state"], answer.outcome)
        resolved += 1
    return resolved
