"""Defect switches (test mode only): known bugs the harness must catch, turned on by
PAYCHAOS_SUT_DEFECTS=name,name. Each is one small, honest change of behaviour.

A name that is unknown, or known but not implemented yet, is refused: an ignored switch would
make a run test the healthy system while its provenance says otherwise.
"""

import os

DEFECTS_ENV = "PAYCHAOS_SUT_DEFECTS"

NETWORK_RETRY_ON_TIMEOUT = "network-retry-on-timeout"
NO_IDEMPOTENCY = "no-idempotency"
SKIP_PROCESSING_STATE = "skip-processing-state"
ACK_BEFORE_COMMIT = "ack-before-commit"
BALANCE_FROM_REPLICA = "balance-from-replica"
NO_ROW_LOCK = "no-row-lock"
WEBHOOK_MARK_BEFORE_SEND = "webhook-mark-before-send"

# Each implemented defect and what it does, in one line.
DEFECTS = {
    NETWORK_RETRY_ON_TIMEOUT: "re-sends a movement whose outcome is unknown instead of looking "
    "it up (the network does not deduplicate)",
    NO_IDEMPOTENCY: "ignores Idempotency-Key: every request creates a new object",
    SKIP_PROCESSING_STATE: "sends to the network before the object is committed PROCESSING",
    ACK_BEFORE_COMMIT: "commits asynchronously (synchronous_commit=off), so success is answered "
    "before the commit is durable",
    BALANCE_FROM_REPLICA: "authorizes refunds and payouts from a balance read on the replica",
    NO_ROW_LOCK: "reads the balance a debit is decided on without locking the account",
}
# Named in the design, refused until the part they break exists.
NOT_IMPLEMENTED = {WEBHOOK_MARK_BEFORE_SEND: "webhooks are not built yet"}


class UnknownDefectError(ValueError):
    """A defect name that this system does not know or does not implement."""


def parse_defects(text: str) -> frozenset[str]:
    """Parse a comma-separated defect list, refusing unknown and unimplemented names.

    >>> sorted(parse_defects("network-retry-on-timeout, "))
    ['network-retry-on-timeout']
    """
    names = {part.strip() for part in text.split(",") if part.strip()}
    for name in sorted(names):
        if name in NOT_IMPLEMENTED:
            raise UnknownDefectError(
                f"defect {name!r} in {DEFECTS_ENV} is not implemented ({NOT_IMPLEMENTED[name]})"
            )
        if name not in DEFECTS:
            known = ", ".join(sorted(DEFECTS))
            raise UnknownDefectError(f"unknown defect {name!r} in {DEFECTS_ENV}; known: {known}")
    return frozenset(names)


def defects_from_environment() -> frozenset[str]:
    """The defects switched on for this process."""
    return parse_defects(os.environ.get(DEFECTS_ENV, ""))
