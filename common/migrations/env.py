"""Alembic environment: runs on the connection Trucban hands over (common.db.upgrade).

The target is the one :data:`common.db.metadata` every table registers with.
Upgrading needs no models; comparing them (``check``, autogenerate) needs every
table module imported first, which :mod:`trucban.schema` does.
"""

from __future__ import annotations

from alembic import context

from common.db import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through common.db.upgrade(engine) or trucban.schema.check(engine)")
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True,
                  compare_server_default=True)
with context.begin_transaction():
    context.run_migrations()
