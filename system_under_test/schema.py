"""Tables of the payments system (SQLAlchemy Core), shared by the API, the worker and migrate."""

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
    Column("merchant_id", Text, ForeignKey("merchants.id"), nullable=True),
    Column("kind", Text, nullable=False),
    Column("currency", Text, nullable=False),
    Column("balance", BigInteger, nullable=False, server_default="0"),
    UniqueConstraint("merchant_id", "kind", "currency"),
)

charges = Table(
    "charges",
    metadata,
    Column("id", Text, primary_key=True),
    Column("merchant_id", Text, ForeignKey("merchants.id"), nullable=False),
    Column("idempotency_key", Text, nullable=True),
    Column("amount", BigInteger, nullable=False),
    Column("currency", Text, nullable=False),
    Column("card_last4", Text, nullable=False),
    Column("state", Text, nullable=False),
    Column("failure_code", Text, nullable=True),
    Column("network_authorization_id", Text, nullable=True),
    # After this instant the network refuses the authorization, so a look-up is definitive.
    Column("authorization_deadline", DateTime(timezone=True), nullable=True),
    Column("resolved_by", Text, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("charges_state_deadline", "state", "authorization_deadline"),
)

charge_transitions = Table(
    "charge_transitions",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("charge_id", Text, ForeignKey("charges.id"), nullable=False, index=True),
    Column("from_state", Text, nullable=True),
    Column("to_state", Text, nullable=False),
    Column("actor", Text, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False, server_default=func.now()),
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
    Column("locked_at", DateTime(timezone=True), nullable=True),
    Column("charge_id", Text, nullable=True),
    Column("response_code", Integer, nullable=True),
    Column("response_body", JSONB, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("last_run_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    UniqueConstraint("merchant_id", "key"),
)

ledger_transactions = Table(
    "ledger_transactions",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("kind", Text, nullable=False),
    Column("charge_id", Text, nullable=True, unique=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

ledger_entries = Table(
    "ledger_entries",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("transaction_id", BigInteger, ForeignKey("ledger_transactions.id"), nullable=False),
    Column("account_id", BigInteger, ForeignKey("accounts.id"), nullable=False),
    # Signed: credits positive, debits negative; each transaction's entries sum to zero.
    Column("amount", BigInteger, nullable=False),
)

ACCOUNT_MERCHANT_AVAILABLE = "merchant_available"
ACCOUNT_NETWORK_RECEIVABLE = "network_receivable"
