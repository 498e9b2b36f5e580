"""Tables of the payments system (SQLAlchemy Core), shared by the API, the worker and the
migrations, which create them (migrations/versions).

Charges, refunds and payouts have the same columns for what they share: each is one money
movement at the card network, made under the same rule (PROCESSING committed before the send,
a deadline carried with it, an unknown outcome resolved by look-up).
"""

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

metadata = MetaData()

merchants = Table(
    "merchants",
    metadata,
    Column("id", Text, primary_key=True),
    Column("name", Text, nullable=False),
    # sha256 of the secret key: a leaked table must not leak working keys.
    Column("api_key_hash", Text, nullable=False, unique=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

accounts = Table(
    "accounts",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    # NULL for the platform's own accounts.
    Column("merchant_id", Text, ForeignKey("merchants.id"), nullable=True),
    Column("kind", Text, nullable=False),
    Column("currency", Text, nullable=False),
    # The sum of the account's entries, kept in the same transaction as each entry.
    Column("balance", BigInteger, nullable=False, server_default="0"),
    UniqueConstraint("merchant_id", "kind", "currency", postgresql_nulls_not_distinct=True),
)


def _movement_columns() -> list[Column]:
    """The columns every money movement (charge, refund, payout) has."""
    return [
        Column("id", Text, primary_key=True),
        Column("merchant_id", Text, ForeignKey("merchants.id"), nullable=False),
        # The key the request carried, kept even when idempotency is off (for the checkers).
        Column("idempotency_key", Text, nullable=True),
        Column("amount", BigInteger, nullable=False),
        Column("currency", Text, nullable=False),
        Column("state", Text, nullable=False),
        Column("failure_code", Text, nullable=True),
        # The network's record of the movement, once a definitive answer named it.
        Column("network_record_id", Text, nullable=True),
        # After this instant the network refuses the movement, so a look-up is definitive.
        Column("deadline", DateTime(timezone=True), nullable=True),
        Column("resolved_by", Text, nullable=True),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("description", Text, nullable=True),
        Column("metadata", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
        # The network's reason for a decline (failure_code holds Stripe's error code).
        Column("decline_code", Text, nullable=True),
        # The ledger transactions the movement posted on the merchant's balance: its own, and
        # the one that gave the money back when it failed (Stripe's balance transactions).
        Column(
            "balance_transaction_id",
            BigInteger,
            ForeignKey("ledger_transactions.id"),
            nullable=True,
        ),
        Column(
            "failure_balance_transaction_id",
            BigInteger,
            ForeignKey("ledger_transactions.id"),
            nullable=True,
        ),
    ]


charges = Table(
    "charges",
    metadata,
    *_movement_columns(),
    Column("card_last4", Text, nullable=False),
    # Refunds PROCESSING or SUCCEEDED: reserved at the refund's decision, given back if it fails.
    Column("amount_refunded", BigInteger, nullable=False, server_default="0"),
    Index("charges_state_deadline", "state", "deadline"),
)

refunds = Table(
    "refunds",
    metadata,
    *_movement_columns(),
    Column("charge_id", Text, ForeignKey("charges.id"), nullable=False, index=True),
    # The merchant's available balance that the decision read (before its own debit).
    Column("balance_seen", BigInteger, nullable=False),
    Index("refunds_state_deadline", "state", "deadline"),
)

payouts = Table(
    "payouts",
    metadata,
    *_movement_columns(),
    Column("balance_seen", BigInteger, nullable=False),
    Index("payouts_state_deadline", "state", "deadline"),
)

MOVEMENT_TABLES = {"charge": charges, "refund": refunds, "payout": payouts}

transitions = Table(
    "transitions",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("object_type", Text, nullable=False),
    Column("object_id", Text, nullable=False),
    Column("from_state", Text, nullable=True),
    Column("to_state", Text, nullable=False),
    Column("actor", Text, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("transitions_object", "object_type", "object_id"),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("merchant_id", Text, ForeignKey("merchants.id"), nullable=False),
    Column("key", Text, nullable=False),
    Column("request_method", Text, nullable=False),
    Column("request_path", Text, nullable=False),
    Column("request_params", JSONB, nullable=False),
    Column("recovery_point", Text, nullable=False),
    # Bumped by every claim of the key; a phase commits only while its version is current.
    Column("lock_version", Integer, nullable=False, server_default="1"),
    Column("locked_at", DateTime(timezone=True), nullable=True),
    # The charge, refund or payout the request created.
    Column("object_id", Text, nullable=True),
    Column("response_code", Integer, nullable=True),
    Column("response_body", JSONB, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("last_run_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    UniqueConstraint("merchant_id", "key"),
    Index("idempotency_keys_created_at", "created_at"),
    Index("idempotency_keys_object_id", "object_id"),
)

ledger_transactions = Table(
    "ledger_transactions",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("kind", Text, nullable=False),
    Column("object_id", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    # Each posting happens once per object: a second one is a bug, refused by the database.
    UniqueConstraint("kind", "object_id"),
)

ledger_entries = Table(
    "ledger_entries",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column(
        "transaction_id",
        BigInteger,
        ForeignKey("ledger_transactions.id"),
        nullable=False,
        index=True,
    ),
    Column("account_id", BigInteger, ForeignKey("accounts.id"), nullable=False, index=True),
    # Signed: credits positive, debits negative; each transaction's entries sum to zero.
    Column("amount", BigInteger, nullable=False),
    # The account's balance once this entry applied, written under the account's lock: the
    # order the primary applied its entries in, which the checkers replay.
    Column("balance_after", BigInteger, nullable=True),
)
