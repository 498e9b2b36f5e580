"""Idempotency keys as one mechanism for charges, refunds and payouts (brandur's recovery
points, with fenced lock takeover): a pure claim decision (`claim`), the recovery points of
each request kind (`recovery_points`), and the key's writes in PostgreSQL (`store`)."""

from system_under_test.payments.idempotency.claim import (
    Claim,
    Fingerprint,
    InUse,
    ParametersMismatch,
    Proceed,
    Replay,
    StoredKey,
    decide_claim,
)
from system_under_test.payments.idempotency.recovery_points import (
    FINISHED,
    RECOVERY_POINTS,
    STARTED,
    processing_point,
)
from system_under_test.payments.idempotency.store import (
    Advance,
    Superseded,
    advance,
    advance_of,
    advance_sql,
    claim_key,
    finish_for_object,
    forget,
    reap_expired,
    release,
    store_response,
)

__all__ = [
    "FINISHED",
    "RECOVERY_POINTS",
    "STARTED",
    "Advance",
    "Claim",
    "Fingerprint",
    "InUse",
    "ParametersMismatch",
    "Proceed",
    "Replay",
    "StoredKey",
    "Superseded",
    "advance",
    "advance_of",
    "advance_sql",
    "claim_key",
    "decide_claim",
    "finish_for_object",
    "forget",
    "processing_point",
    "reap_expired",
    "release",
    "store_response",
]
