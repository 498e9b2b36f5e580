"""The parsed parameters of each create request, as the API hands them to a flow: data only."""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ChargeRequest:
    amount: int
    currency: str
    card_number: str
    description: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RefundRequest:
    charge_id: str
    # None: the charge's whole remainder.
    amount: int | None
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PayoutRequest:
    amount: int
    currency: str
    description: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
