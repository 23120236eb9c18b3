"""Reports and IOC feed: cursors of the webhook feed, monthly report runs.

Revision ID: 0006_reports
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_reports"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create report_cursors and report_runs."""
    op.create_table(
        "report_cursors",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "report_runs",
        sa.Column("period", sa.String(length=16), nullable=False),
        sa.Column("start", sa.BigInteger(), nullable=False),
        sa.Column("end", sa.BigInteger(), nullable=False),
        sa.Column("generated_at", sa.BigInteger(), nullable=False),
        sa.Column("files", sa.JSON(), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("period"),
    )


def downgrade() -> None:
    """Drop the report tables."""
    op.drop_table("report_runs")
    op.drop_table("report_cursors")
