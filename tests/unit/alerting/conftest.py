"""Fixtures for the alerting core: a lab-shaped inventory, a metric store, and both databases."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from alerting.db import open_database
from inventory.inventory import Inventory
from inventory.loader import load_inventory
from lab.generator import generate_lab
from store.sqlite import SqliteMetricStore

PG_ADMIN_URL = os.environ.get("TRUCBAN_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


@pytest.fixture(scope="session")
def lab_inventory(tmp_path_factory: pytest.TempPathFactory) -> Inventory:
    """25 Hải Phòng communes: two aggregation routers (20 + 5 communes), core, DNS."""
    layout = generate_lab(tmp_path_factory.mktemp("alerting-lab"), "31", port=16199, limit=25)
    return load_inventory(layout.inventory)


@pytest.fixture()
def store(tmp_path: Path) -> Iterator[SqliteMetricStore]:
    """A fresh embedded metric store."""
    s = SqliteMetricStore(tmp_path / "metrics.sqlite")
    yield s
    s.close()


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """A throw-away PostgreSQL database on the local server; its URL."""
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"trucban_test_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # pragma: no cover - depends on the machine
        pytest.skip(f"PostgreSQL not reachable at {PG_ADMIN_URL}: {exc}")
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """The alerting database, migrated, on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        engine = open_database(f"sqlite:///{tmp_path / 'alerting.sqlite'}")
    else:
        url = request.getfixturevalue("pg_server")
        engine = open_database(url)
        with engine.begin() as conn:
            conn.execute(text("TRUNCATE incidents, incident_events, device_states, maintenance_windows, "
                              "state_history RESTART IDENTITY CASCADE"))
    yield engine
    engine.dispose()
