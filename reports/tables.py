"""The report tables (SQLAlchemy Core), created by migration ``0006_reports``."""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Column, Engine, String, Table, insert, select, update
from sqlalchemy.engine import Connection

from common.db import metadata

# Named positions: the IOC feed's last incident event and typhoon change it turned into webhooks.
report_cursors = Table(
    "report_cursors", metadata,
    Column("name", String(64), primary_key=True),
    Column("value", BigInteger, nullable=False),
)

# One row per generated monthly report ("2026-09"): where the files are and the headline figures.
report_runs = Table(
    "report_runs", metadata,
    Column("period", String(16), primary_key=True),
    Column("start", BigInteger, nullable=False),
    Column("end", BigInteger, nullable=False),
    Column("generated_at", BigInteger, nullable=False),
    Column("files", JSON, nullable=False),
    Column("summary", JSON, nullable=False),
)


def get_cursor(conn: Connection, name: str) -> int | None:
    """A cursor's value, None when never set."""
    query = select(report_cursors.c.value).where(report_cursors.c.name == name)
    return conn.execute(query).scalar_one_or_none()


def set_cursor(conn: Connection, name: str, value: int) -> None:
    """Create or move a cursor (in the caller's transaction)."""
    done = conn.execute(update(report_cursors).where(report_cursors.c.name == name).values(value=value))
    if not done.rowcount:
        conn.execute(insert(report_cursors).values(name=name, value=value))


def report_runs_list(engine: Engine) -> list[dict[str, object]]:
    """Every generated monthly report, newest first."""
    with engine.connect() as conn:
        rows = conn.execute(select(report_runs).order_by(report_runs.c.period.desc()))
        return [dict(r._mapping) for r in rows]
