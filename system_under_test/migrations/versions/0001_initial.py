"""The initial schema: merchants, ledger accounts, money movements, transitions,
idempotency keys, ledger transactions and entries.

Revision ID: 0001_initial
Revises:
Create Date: 2026-12-03

Frozen: every name (keys, constraints, indexes) is written out as PostgreSQL would default
it, so that a database made by this revision is the same whatever schema.py says later.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001_initial"
down_revision = None
branch_labels = None
depends_on = None

# Dependencies first: downgrade drops them in the reverse order.
TABLES = (
    "merchants",
    "accounts",
    "charges",
    "refunds",
    "payouts",
    "transitions",
    "idempotency_keys",
    "ledger_transactions",
    "ledger_entries",
)


def _created_at(name: str = "created_at") -> sa.Column:
    return sa.Column(
        name, sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
    )


def _movement_columns(table: str) -> list[sa.Column]:
    """The columns that charges, refunds and payouts share, as of this revision."""
    return [
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("merchant_id", sa.Text(), nullable=False),
        sa.Column("idempotency_key", sa.Text(), nullable=True),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.Text(), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("failure_code", sa.Text(), nullable=True),
        sa.Column("network_record_id", sa.Text(), nullable=True),
        sa.Column("deadline", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_by", sa.Text(), nullable=True),
        _created_at(),
        _created_at("updated_at"),
        sa.PrimaryKeyConstraint("id", name=f"{table}_pkey"),
        sa.ForeignKeyConstraint(
            ["merchant_id"], ["merchants.id"], name=f"{table}_merchant_id_fkey"
        ),
    ]


def upgrade() -> None:
    op.create_table(
        "merchants",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("api_key_hash", sa.Text(), nullable=False),
        _created_at(),
        sa.PrimaryKeyConstraint("id", name="merchants_pkey"),
        sa.UniqueConstraint("api_key_hash", name="merchants_api_key_hash_key"),
    )
    op.create_table(
        "accounts",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("merchant_id", sa.Text(), nullable=True),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("currency", sa.Text(), nullable=False),
        sa.Column("balance", sa.BigInteger(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("id", name="accounts_pkey"),
        sa.ForeignKeyConstraint(
            ["merchant_id"], ["merchants.id"], name="accounts_merchant_id_fkey"
        ),
        # One platform account (merchant_id NULL) per kind and currency, too.
        sa.UniqueConstraint(
            "merchant_id",
            "kind",
            "currency",
            name="accounts_merchant_id_kind_currency_key",
            postgresql_nulls_not_distinct=True,
        ),
    )
    op.create_table(
        "charges",
        *_movement_columns("charges"),
        sa.Column("card_last4", sa.Text(), nullable=False),
        sa.Column("amount_refunded", sa.BigInteger(), server_default="0", nullable=False),
    )
    op.create_index("charges_state_deadline", "charges", ["state", "deadline"])
    op.create_table(
        "refunds",
        *_movement_columns("refunds"),
        sa.Column("charge_id", sa.Text(), nullable=False),
        sa.Column("balance_seen", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["charge_id"], ["charges.id"], name="refunds_charge_id_fkey"),
    )
    op.create_index("ix_refunds_charge_id", "refunds", ["charge_id"])
    op.create_index("refunds_state_deadline", "refunds", ["state", "deadline"])
    op.create_table(
        "payouts",
        *_movement_columns("payouts"),
        sa.Column("balance_seen", sa.BigInteger(), nullable=False),
    )
    op.create_index("payouts_state_deadline", "payouts", ["state", "deadline"])
    op.create_table(
        "transitions",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("object_type", sa.Text(), nullable=False),
        sa.Column("object_id", sa.Text(), nullable=False),
        sa.Column("from_state", sa.Text(), nullable=True),
        sa.Column("to_state", sa.Text(), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        _created_at("at"),
        sa.PrimaryKeyConstraint("id", name="transitions_pkey"),
    )
    op.create_index("transitions_object", "transitions", ["object_type", "object_id"])
    op.create_table(
        "idempotency_keys",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("merchant_id", sa.Text(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("request_method", sa.Text(), nullable=False),
        sa.Column("request_path", sa.Text(), nullable=False),
        sa.Column("request_params", postgresql.JSONB(), nullable=False),
        sa.Column("recovery_point", sa.Text(), nullable=False),
        sa.Column("lock_version", sa.Integer(), server_default="1", nullable=False),
        sa.Column("locked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("object_id", sa.Text(), nullable=True),
        sa.Column("response_code", sa.Integer(), nullable=True),
        sa.Column("response_body", postgresql.JSONB(), nullable=True),
        _created_at(),
        _created_at("last_run_at"),
        sa.PrimaryKeyConstraint("id", name="idempotency_keys_pkey"),
        sa.ForeignKeyConstraint(
            ["merchant_id"], ["merchants.id"], name="idempotency_keys_merchant_id_fkey"
        ),
        sa.UniqueConstraint("merchant_id", "key", name="idempotency_keys_merchant_id_key_key"),
    )
    op.create_index("idempotency_keys_created_at", "idempotency_keys", ["created_at"])
    op.create_index("idempotency_keys_object_id", "idempotency_keys", ["object_id"])
    op.create_table(
        "ledger_transactions",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("object_id", sa.Text(), nullable=False),
        _created_at(),
        sa.PrimaryKeyConstraint("id", name="ledger_transactions_pkey"),
        sa.UniqueConstraint("kind", "object_id", name="ledger_transactions_kind_object_id_key"),
    )
    op.create_table(
        "ledger_entries",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("transaction_id", sa.BigInteger(), nullable=False),
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="ledger_entries_pkey"),
        sa.ForeignKeyConstraint(
            ["transaction_id"],
            ["ledger_transactions.id"],
            name="ledger_entries_transaction_id_fkey",
        ),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name="ledger_entries_account_id_fkey"
        ),
    )
    op.create_index("ix_ledger_entries_transaction_id", "ledger_entries", ["transaction_id"])
    op.create_index("ix_ledger_entries_account_id", "ledger_entries", ["account_id"])


def downgrade() -> None:
    # A table takes its indexes, constraints and serial sequences with it.
    for table in reversed(TABLES):
        op.drop_table(table)
