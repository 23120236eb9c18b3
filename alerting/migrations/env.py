"""Alembic environment: runs on the connection Trucban hands over (alerting.db.upgrade)."""

from __future__ import annotations

from alembic import context

from alerting.db import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through alerting.db.upgrade(engine)")
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
