"""Device states remember their newest observation instant and the last observed status.

Revision ID: 0007_observed
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_observed"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add observed, known and known_since to device_states."""
    with op.batch_alter_table("device_states") as batch:
        batch.add_column(sa.Column("observed", sa.Float(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("known", sa.String(length=20), nullable=False, server_default="unknown"))
        batch.add_column(sa.Column("known_since", sa.BigInteger(), nullable=False, server_default="0"))


def downgrade() -> None:
    """Drop the three columns."""
    with op.batch_alter_table("device_states") as batch:
        batch.drop_column("known_since")
        batch.drop_column("known")
        batch.drop_column("observed")
