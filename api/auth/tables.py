"""Tables of the accounts branch (migration 0003_accounts): users, sessions, API tokens, audit log.

They share :data:`alerting.db.metadata` so one engine and one ``upgrade`` serve both.
Secrets are never stored: passwords as argon2 hashes, session ids and API tokens
as keyed SHA-256 digests.
"""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Column, ForeignKey, Index, Integer, String, Table, Text

from alerting.db import metadata

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("username", String(100), nullable=False, unique=True),
    Column("display_name", String(200), nullable=False),
    Column("password_hash", String(300), nullable=False),
    Column("role", String(20), nullable=False),
    Column("communes", JSON, nullable=False, default=list),  # command-post viewers only
    Column("disabled", Integer, nullable=False, default=0),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    extend_existing=True,
)

sessions = Table(
    "web_sessions",
    metadata,
    Column("id_hash", String(64), primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=False),
    Column("ip", String(64), nullable=False, default=""),
    Index("ix_web_sessions_user", "user_id"),
    extend_existing=True,
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(100), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("prefix", String(16), nullable=False),
    Column("scopes", JSON, nullable=False, default=list),
    Column("communes", JSON),  # None: every commune
    Column("created_by", String(100), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("expires_at", BigInteger),
    Column("last_used_at", BigInteger),
    Column("revoked_at", BigInteger),
    extend_existing=True,
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("ts", BigInteger, nullable=False),
    Column("actor", String(100), nullable=False),
    Column("action", String(60), nullable=False),
    Column("target", String(200), nullable=False, default=""),
    Column("details", JSON, nullable=False, default=dict),
    Column("ip", String(64), nullable=False, default=""),
    Column("text", Text, nullable=False, default=""),
    Index("ix_audit_log_ts", "ts"),
    extend_existing=True,
)
