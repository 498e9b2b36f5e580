"""Each ledger entry records its account's balance once it applied, so that the checkers can
replay the primary's balances in the order they changed.

Revision ID: 0003_entry_balance_after
Revises: 0002_stripe_fields
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_entry_balance_after"
down_revision = "0002_stripe_fields"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("ledger_entries", sa.Column("balance_after", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    op.drop_column("ledger_entries", "balance_after")
