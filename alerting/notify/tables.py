"""The notification tables (SQLAlchemy Core), created by migration ``0002_notify``.

Kept apart from :mod:`alerting.db` (the core's schema) so the two evolve on
their own Alembic branches; both live in the same alerting database and
register on the one :data:`common.db.metadata`.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from common.db import metadata

# One row per (command post, incident) the post must hear about: its DOWN and later its RECOVERED.
notify_alerts = Table(
    "notify_alerts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("post", String(64), nullable=False),
    Column("incident_id", Integer, nullable=False),
    Column("level", Integer, nullable=False, default=0),  # 0 routed, 1.. escalated
    Column("severity", Integer, nullable=False),
    Column("sent_severity", Integer),  # NULL: the DOWN was not sent yet
    Column("scope", Integer, nullable=False, default=0),
    Column("sent_scope", Integer),
    Column("status", String(12), nullable=False),  # firing | resolved
    Column("dirty", Boolean, nullable=False, default=True),
    Column("queued_at", BigInteger, nullable=False),
    Column("snapshot", JSON, nullable=False, default=dict),
    UniqueConstraint("post", "incident_id", name="uq_notify_alerts_post_incident"),
    Index("ix_notify_alerts_post", "post"),
)

# Alertmanager-style aggregation group per command post.
notify_groups = Table(
    "notify_groups",
    metadata,
    Column("post", String(64), primary_key=True),
    Column("created_at", BigInteger, nullable=False),
    Column("next_flush_at", BigInteger),
    Column("last_flush_at", BigInteger),
    Column("seq", Integer, nullable=False, default=0),
)

# The durable outbox: one row per (notification, contact); the channel chain is tried in order.
notify_outbox = Table(
    "notify_outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("dedup_key", String(200), nullable=False, unique=True),
    Column("post", String(64), nullable=False),
    Column("contact", String(100), nullable=False),
    Column("kind", String(20), nullable=False),  # alert | digest | readiness | summary | test
    Column("subject", Text, nullable=False),
    Column("short", Text, nullable=False),
    Column("text", Text, nullable=False),
    Column("html", Text, nullable=False),
    Column("chain", JSON, nullable=False),  # [{"channel": name, "target": address}, ...]
    Column("channel_index", Integer, nullable=False, default=0),
    Column("attempts", Integer, nullable=False, default=0),
    Column("total_attempts", Integer, nullable=False, default=0),
    Column("status", String(12), nullable=False),  # pending | sending | sent
    Column("next_attempt_at", BigInteger, nullable=False),
    Column("claimed_until", BigInteger),
    Column("created_at", BigInteger, nullable=False),
    Column("sent_at", BigInteger),
    Column("delivered_via", String(64)),
    Column("last_error", Text),
    Column("meta", JSON, nullable=False, default=dict),
    # Migration 0008_notify_claims: who holds the lease (process identity, see claims.ProcessIdentity),
    # when the current attempt started (set before the send, cleared after), resends after a crash.
    Column("claimed_by", String(200)),
    Column("attempt_started_at", BigInteger),
    Column("crash_resends", Integer, nullable=False, default=0, server_default="0"),
    Index("ix_notify_outbox_due", "status", "next_attempt_at"),
    Index("ix_notify_outbox_post", "post"),
)

# Escalation timer per incident: unacknowledged after T → the next level.
notify_escalations = Table(
    "notify_escalations",
    metadata,
    Column("incident_id", Integer, primary_key=True),
    Column("chain", JSON, nullable=False),  # posts still to escalate to, in order
    Column("level", Integer, nullable=False, default=0),
    Column("next_at", BigInteger),
    Column("done", Boolean, nullable=False, default=False),
)

# Named timers (digests) that must survive restarts.
notify_timers = Table(
    "notify_timers",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("at", BigInteger, nullable=False),
)

typhoon_declarations = Table(
    "typhoon_declarations",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(100), nullable=False),
    Column("communes", JSON, nullable=False),  # commune codes covered
    Column("province", String(4)),
    Column("starts_at", BigInteger, nullable=False),
    Column("ends_at", BigInteger, nullable=False),
    Column("declared_by", String(100), nullable=False),
    Column("declared_at", BigInteger, nullable=False),
    Column("ended_at", BigInteger),
    Column("digest_every_s", Integer, nullable=False),
    Column("readiness", JSON, nullable=False, default=dict),
    Column("summary", JSON),
)
