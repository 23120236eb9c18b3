"""State history: every device/link status interval, for availability reports to the second.

Revision ID: 0005_history
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_history"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create state_history."""
    op.create_table(
        "state_history",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("subject", sa.String(length=80), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("started_at", sa.BigInteger(), nullable=False),
        sa.Column("ended_at", sa.BigInteger(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_state_history_subject", "state_history", ["subject", "started_at"])
    op.create_index("ix_state_history_open", "state_history", ["ended_at"])


def downgrade() -> None:
    """Drop state_history."""
    op.drop_table("state_history")
