"""The network's statement of its wire contract: the fields each kind of movement takes."""

from collections.abc import Mapping
from types import MappingProxyType

from system_under_test.network_client import MovementKind

_COMMON_FIELDS = ("reference", "amount", "currency", "not_after_ms")
FIELDS: Mapping[MovementKind, tuple[str, ...]] = MappingProxyType(
    {
        MovementKind.AUTHORIZATION: (*_COMMON_FIELDS, "card_number"),
        MovementKind.REFUND: (*_COMMON_FIELDS, "authorization_id"),
        MovementKind.PAYOUT: _COMMON_FIELDS,
    }
)
