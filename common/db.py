"""The one SQLAlchemy :class:`~sqlalchemy.MetaData` of Trucban's database.

Every room that keeps a table (alerting, notify, accounts, storm desk,
reports) registers it here, so the Alembic environment compares the models
with the migrations as one whole schema (``alembic check`` sees every table,
not just the ones of whichever ``MetaData`` it was handed). The tables
themselves stay in their rooms; :mod:`trucban.schema` imports them all.
"""

from __future__ import annotations

from sqlalchemy import MetaData

metadata = MetaData()
"""The shared schema registry: pass it to every ``Table(...)``."""
