"""Fixtures for report tests: a small lab-shaped inventory, an alerting database, a metric store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from alerting.db import open_database
from inventory.inventory import Inventory
from inventory.loader import load_inventory
from lab.generator import generate_lab
from store.sqlite import SqliteMetricStore


@pytest.fixture(scope="session")
def report_inventory(tmp_path_factory: pytest.TempPathFactory) -> Inventory:
    """Four Hải Phòng communes behind one aggregation router, plus core and DNS."""
    layout = generate_lab(tmp_path_factory.mktemp("reports-lab"), "31", port=16198, limit=4)
    return load_inventory(layout.inventory)


@pytest.fixture()
def engine(tmp_path: Path) -> Iterator[Engine]:
    """A fresh, migrated alerting database (SQLite)."""
    e = open_database(f"sqlite:///{tmp_path / 'alerting.sqlite'}")
    yield e
    e.dispose()


@pytest.fixture()
def metric_store(tmp_path: Path) -> Iterator[SqliteMetricStore]:
    """A fresh embedded metric store."""
    s = SqliteMetricStore(tmp_path / "metrics.sqlite")
    yield s
    s.close()
