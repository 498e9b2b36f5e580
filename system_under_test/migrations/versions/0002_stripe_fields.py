"""Stripe's fields on every money movement: description, metadata, the network's decline
code, and the balance transactions (ledger transactions) that the movement posted.

Revision ID: 0002_stripe_fields
Revises: 0001_initial
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002_stripe_fields"
down_revision = "0001_initial"
branch_labels = None
depends_on = None

MOVEMENT_TABLES = ("charges", "refunds", "payouts")


def upgrade() -> None:
    for table in MOVEMENT_TABLES:
        op.add_column(table, sa.Column("description", sa.Text(), nullable=True))
        op.add_column(
            table,
            sa.Column(
                "metadata",
                postgresql.JSONB(astext_type=sa.Text()),
                server_default=sa.text("'{}'::jsonb"),
                nullable=False,
            ),
        )
        op.add_column(table, sa.Column("decline_code", sa.Text(), nullable=True))
        for column in ("balance_transaction_id", "failure_balance_transaction_id"):
            op.add_column(
                table,
                sa.Column(
                    column,
                    sa.BigInteger(),
                    sa.ForeignKey("ledger_transactions.id", name=f"{table}_{column}_fkey"),
                    nullable=True,
                ),
            )


def downgrade() -> None:
    for table in MOVEMENT_TABLES:
        for column in (
            "failure_balance_transaction_id",
            "balance_transaction_id",
            "decline_code",
            "metadata",
            "description",
        ):
            op.drop_column(table, column)
