"""Outbox claims carry the process identity; an attempt is recorded before it is made.

``claimed_by`` names the process holding a row's lease (host, boot id, pid,
process start, random token) so a restart can reclaim the rows of a dead
process at once; ``attempt_started_at`` is set just before a send and cleared
after it, so a crash knows which rows were in flight (at most one duplicate
each); ``crash_resends`` counts those resends.

Revision ID: 0008_notify_claims
Revises: 0002_notify
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_notify_claims"
down_revision = "0002_notify"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add claimed_by, attempt_started_at and crash_resends to notify_outbox."""
    with op.batch_alter_table("notify_outbox") as batch:
        batch.add_column(sa.Column("claimed_by", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("attempt_started_at", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("crash_resends", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    """Drop the three columns."""
    with op.batch_alter_table("notify_outbox") as batch:
        batch.drop_column("crash_resends")
        batch.drop_column("attempt_started_at")
        batch.drop_column("claimed_by")
