"""Delete idempotency keys past their retention, in bounded batches."""

import datetime
import logging

from system_under_test.payments import idempotency
from system_under_test.payments.connections import Database

log = logging.getLogger("paychaos.reaper")

# Stripe keeps keys for 24 hours; a reaped key starts a new request.
KEY_RETENTION = datetime.timedelta(hours=24)
# Keys deleted per batch and per pass: bounds the delete's locks and one pass's duration.
REAP_BATCH_MAX = 1000
REAP_BATCHES_PER_PASS_MAX = 10


async def reap_once(database: Database, *, retention: datetime.timedelta = KEY_RETENTION) -> int:
    """Delete keys older than `retention`, at most REAP_BATCHES_PER_PASS_MAX batches; returns
    how many were deleted."""
    total = 0
    for _ in range(REAP_BATCHES_PER_PASS_MAX):
        deleted = await idempotency.reap_expired(
            database, retention=retention, batch_max=REAP_BATCH_MAX
        )
        total += deleted
        if deleted < REAP_BATCH_MAX:
            break
    if total:
        log.info("reaped %d idempotency keys older than %s", total, retention)
    return total
