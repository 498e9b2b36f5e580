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
    ADVANCING,
    Advance,
    Superseded,
    advance,
    advance_arguments,
    advance_of,
    claim_key,
    finishing_key,
    finishing_values,
    forget,
    reap_expired,
    release,
    store_final,
)

__all__ = [
    "ADVANCING",
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
    "advance_arguments",
    "advance_of",
    "claim_key",
    "decide_claim",
    "finishing_key",
    "finishing_values",
    "forget",
    "processing_point",
    "reap_expired",
    "release",
    "store_final",
]
