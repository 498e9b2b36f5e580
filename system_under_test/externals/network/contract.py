"""The network's statement of its wire contract: what it serves, takes and records.

The simulator is the ground truth the verdicts rest on, so it shares no code with the payments
system it judges: the payments system's client (`network_client`) states the same contract for
itself, and tests/unit/test_network_contract.py holds the two statements equal.

Per kind, at `PATHS[kind]`: `POST` a JSON object of exactly `FIELDS[kind]`, answered with the
record it made (`id`, `outcome`, `decline_code`, ...); `GET ?reference=R` answers
`{"data": [records of R]}`, oldest first. A request received after its `not_after_ms` (milliseconds
since the epoch) is recorded `expired` and moves no money.
"""

import enum
from collections.abc import Mapping
from types import MappingProxyType


class MovementKind(enum.StrEnum):
    AUTHORIZATION = "authorization"
    REFUND = "refund"
    PAYOUT = "payout"


class Outcome(enum.StrEnum):
    """What the network records for one request it received."""

    APPROVED = "approved"
    DECLINED = "declined"
    # Received after its deadline: refused, no money moved.
    EXPIRED = "expired"


PATHS: Mapping[MovementKind, str] = MappingProxyType(
    {
        MovementKind.AUTHORIZATION: "/v1/authorizations",
        MovementKind.REFUND: "/v1/refunds",
        MovementKind.PAYOUT: "/v1/payouts",
    }
)

_COMMON_FIELDS = ("reference", "amount", "currency", "not_after_ms")
FIELDS: Mapping[MovementKind, tuple[str, ...]] = MappingProxyType(
    {
        MovementKind.AUTHORIZATION: (*_COMMON_FIELDS, "card_number"),
        MovementKind.REFUND: (*_COMMON_FIELDS, "authorization_id"),
        MovementKind.PAYOUT: _COMMON_FIELDS,
    }
)
assert set(PATHS) == set(FIELDS) == set(MovementKind), "a kind lacks a path or fields"


def is_expired(*, received_at_ns: int, not_after_ms: int) -> bool:
    """Whether a request received at `received_at_ns` came after its deadline `not_after_ms`.

    The deadline's whole millisecond is still in time.

    >>> is_expired(received_at_ns=2_000_999_999, not_after_ms=2_000)
    False
    >>> is_expired(received_at_ns=2_001_000_000, not_after_ms=2_000)
    True
    """
    return received_at_ns // 1_000_000 > not_after_ms
