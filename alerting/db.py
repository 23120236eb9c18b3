"""The alerting domain's database: incidents, timeline, states, maintenance.

SQLite by default, PostgreSQL in production, one schema through SQLAlchemy
Core; Alembic migrations (``common/migrations``) create and evolve it, and
run automatically at start-up. The tables register on the one
:data:`common.db.metadata` (re-exported here as ``metadata``), with every
other room's, so Alembic compares the whole schema (:mod:`trucban.schema`).
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Engine,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    create_engine,
    event,
    text,
)

from common.db import metadata, upgrade

incidents = Table(
    "incidents", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", String(200), nullable=False),
    Column("kind", String(40), nullable=False),
    Column("severity", Integer, nullable=False),
    Column("status", String(20), nullable=False),
    Column("title", Text, nullable=False),
    Column("why", Text, nullable=False),
    Column("runbook", String(200), nullable=False),
    Column("province", String(4), nullable=False, default=""),
    Column("commune", String(8)),
    Column("site", String(64)),
    Column("device", String(64)),
    Column("affected", JSON, nullable=False, default=list),
    Column("details", JSON, nullable=False, default=dict),
    Column("opened_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    Column("resolved_at", BigInteger),
    Column("acked_by", String(100)),
    Column("acked_at", BigInteger),
    Column("ack_comment", Text),
    Index("ix_incidents_active_key", "key", unique=True,
          sqlite_where=text("status != 'resolved'"), postgresql_where=text("status != 'resolved'")),
    Index("ix_incidents_commune", "commune"),
    Index("ix_incidents_opened", "opened_at"),
)

incident_events = Table(
    "incident_events", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("incident_id", Integer, ForeignKey("incidents.id", ondelete="CASCADE"), nullable=False),
    Column("ts", BigInteger, nullable=False),
    Column("kind", String(30), nullable=False),
    Column("text", Text, nullable=False),
    Column("actor", String(100), nullable=False),
    Column("data", JSON, nullable=False, default=dict),
    Index("ix_incident_events_incident", "incident_id", "id"),
)

device_states = Table(
    "device_states", metadata,
    Column("device", String(64), primary_key=True),
    Column("status", String(20), nullable=False),
    Column("since", BigInteger, nullable=False),
    Column("last_poll", BigInteger, nullable=False),
    Column("failures", Integer, nullable=False),
    Column("reason", Text, nullable=False),
    Column("history", JSON, nullable=False, default=list),
    Column("flapping", Integer, nullable=False, default=0),
    Column("observed", Float, nullable=False, default=0.0, server_default="0"),
    Column("known", String(20), nullable=False, default="unknown", server_default="unknown"),
    Column("known_since", BigInteger, nullable=False, default=0, server_default="0"),
)

maintenance_windows = Table(
    "maintenance_windows", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("scope", String(20), nullable=False),  # device | site | commune | role
    Column("target", String(64), nullable=False),
    Column("starts_at", BigInteger, nullable=False),
    Column("ends_at", BigInteger),  # one-off end; NULL for recurring
    Column("recurrence", JSON),  # {"weekdays": [0..6], "start": "HH:MM", "minutes": N} local time
    Column("reason", Text, nullable=False),
    Column("created_by", String(100), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("cancelled_at", BigInteger),
)


def database_url(path_or_url: str | Path) -> str:
    """A SQLAlchemy URL from a URL or a plain SQLite file path."""
    text_ = str(path_or_url)
    return text_ if "://" in text_ else f"sqlite:///{Path(text_).resolve()}"


def open_database(url: str, migrate: bool = True) -> Engine:
    """Engine for ``url`` (SQLite: WAL + foreign keys), migrated to the newest schema."""
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, future=True, pool_pre_ping=True)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    if migrate:
        upgrade(engine)
    return engine


def _sqlite_pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=5000")
    cur.close()
