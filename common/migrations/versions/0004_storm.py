"""Storm desk: imported forecast tracks and their exposure.

Revision ID: 0004_storm
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_storm"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create storm_tracks."""
    op.create_table(
        "storm_tracks",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("filename", sa.String(length=300), nullable=False),
        sa.Column("imported_at", sa.BigInteger(), nullable=False),
        sa.Column("imported_by", sa.String(length=100), nullable=False),
        sa.Column("overlay", sa.JSON(), nullable=False),
        sa.Column("exposure", sa.JSON(), nullable=False),
        sa.Column("readiness", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("decided_by", sa.String(length=100), nullable=True),
        sa.Column("decided_at", sa.BigInteger(), nullable=True),
        sa.Column("declaration_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    """Drop storm_tracks."""
    op.drop_table("storm_tracks")
