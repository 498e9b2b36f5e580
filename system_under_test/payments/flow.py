"""What charges, refunds and payouts share: each is one money movement at the card network.

A `Flow` names what differs between the three (table, network kind, its create phase, ledger
postings, wire answer). Its create phase is a plain function of the flow, given the parsed
request as data (payments.requests) and a `NewMovement`; it ends in `Created` or `Refusal`.
"""

import datetime
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import asyncpg
from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncEngine

from system_under_test.network_client import MovementKind, NetworkAnswer
from system_under_test.payments import idempotency
from system_under_test.payments.wire import Answer

# The parsed parameters of one flow's create requests (payments.requests).
Parameters = TypeVar("Parameters")

Row = Mapping[str, Any]


@dataclass(frozen=True)
class Settlement:
    """What a resolution books besides the object's new state."""

    # The ledger posting, or None when no money moves (a declined charge).
    posting: str | None = None
    # The object's column that names the posting's ledger transaction, if any.
    transaction_column: str | None = None
    # A failed refund gives its amount back to its charge (locked after the refund, before
    # the accounts: the order the refund's create phase locks them in).
    gives_back_charge: bool = False


@dataclass(frozen=True)
class NewMovement:
    """What a create phase is given besides its request: the new object's id and deadline,
    whose it is, and the key's advance to the processing point (None without a key)."""

    object_id: str
    deadline: datetime.datetime
    merchant_id: str
    key: str | None
    advance: idempotency.Advance | None
    defects: frozenset[str]
    # The replica, which only the balance-from-replica defect reads a balance from.
    replica: AsyncEngine | None


@dataclass(frozen=True)
class Flow(Generic[Parameters]):
    """One kind of money movement: what its phases need to know of it."""

    name: str
    table: Table
    network_kind: MovementKind
    id_prefix: str
    # The create phase: it writes the key's advance first (the key's row lock before any
    # other) and raises idempotency.Superseded when the advance matched nothing.
    create: Callable[[asyncpg.Connection, NewMovement, Parameters], Awaitable["Created | Refusal"]]
    # A create phase that is one statement is its own transaction and never refuses; any other
    # runs in a transaction that execution opens (and that forgets the key on a refusal).
    create_is_one_statement: bool
    # What a resolution books when the network approved, and when it did not.
    on_approval: Settlement
    on_refusal: Settlement
    # The answer (status, body) a final object gives, and stores with its idempotency key.
    final_response: Callable[[Row], tuple[int, dict[str, Any]]]
    # The failure code of an object the network did not approve.
    failure_code: Callable[[NetworkAnswer], str]

    def settlement(self, approved: bool) -> Settlement:
        """What a resolution books, by whether the network approved."""
        return self.on_approval if approved else self.on_refusal


@dataclass(frozen=True)
class Created:
    """A create phase's "yes": the object, PROCESSING, and what the network must be sent
    besides reference and deadline (amount, currency, card number or authorization)."""

    row: Row
    send_fields: Mapping[str, object]
    # The ledger transaction id the resolve phase will post under, drawn with the object.
    posting_id: int | None = None


@dataclass(frozen=True)
class Refusal:
    """A create phase's "no": answered, not stored, and nothing written (the key forgotten)."""

    answer: Answer


def decline_code_or(default: str) -> Callable[[NetworkAnswer], str]:
    """A failure code that is the network's decline code, or `default` when it gives none.

    >>> from system_under_test.network_client import Outcome
    >>> decline_code_or("unknown")(NetworkAnswer(Outcome.EXPIRED))
    'unknown'
    """

    def failure_code(answer: NetworkAnswer) -> str:
        return answer.decline_code or default

    return failure_code


def deadline_ms(deadline: datetime.datetime) -> int:
    """The deadline as the network reads it: milliseconds since the epoch."""
    return int(deadline.timestamp() * 1000)
