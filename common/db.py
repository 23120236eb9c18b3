"""The one SQLAlchemy :class:`~sqlalchemy.MetaData` of Trucban's database.

Every room that keeps a table (alerting, notify, accounts, storm desk,
reports) registers it here, so the Alembic environment compares the models
with the migrations as one whole schema (``alembic check`` sees every table,
not just the ones of whichever ``MetaData`` it was handed). The tables
themselves stay in their rooms; :mod:`trucban.schema` imports them all. The
migrations that create and evolve them are the schema's history and live here
too (``common/migrations``).
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, MetaData

metadata = MetaData()
"""The shared schema registry: pass it to every ``Table(...)``."""


def alembic_config() -> Config:
    """Alembic configuration pointing at the packaged migrations (``common/migrations``)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    return cfg


def upgrade(engine: Engine, revision: str = "heads") -> None:
    """Apply migrations up to ``revision`` (every branch head by default) on ``engine``."""
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
