"""Fixtures for notify: the lab inventory, a metric store and both databases (notify tables cleared)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from pydantic import SecretStr
from sqlalchemy import text
from sqlalchemy.engine import Engine

from alerting.db import open_database
from alerting.notify.config import Channel, ChannelKind, NotifyConfig, Timers
from tests.unit.alerting.conftest import lab_inventory, pg_server, store  # noqa: F401  (shared fixtures)

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
T0 = 1_790_000_000  # 2026-09-21 21:13 local
TABLES = (
    "notify_alerts",
    "notify_groups",
    "notify_outbox",
    "notify_escalations",
    "notify_timers",
    "typhoon_declarations",
    "incidents",
    "incident_events",
    "device_states",
    "maintenance_windows",
)


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """The alerting database with the notify tables, migrated, on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        engine = open_database(f"sqlite:///{tmp_path / 'alerting.sqlite'}")
    else:
        engine = open_database(request.getfixturevalue("pg_server"))
        with engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE"))
    yield engine
    engine.dispose()


def closed_port_email() -> Channel:
    """An e-mail channel pointing at a port nobody listens on (every attempt fails for real)."""
    url = SecretStr("mailto://127.0.0.1:9/?from=t@lab.invalid&to={target}&mode=insecure")
    return Channel(kind=ChannelKind.EMAIL, url=url, max_attempts=2)


def config(**overrides: object) -> NotifyConfig:
    """A config with an e-mail channel, a NOC and coordinators, and short timers."""
    base: dict = {
        "channels": {"email": closed_port_email()},
        "posts": {
            "noc": {"name": "Trực ban NOC", "contacts": [{"name": "NOC", "email": "noc@lab.invalid"}]},
            "coordinators": {"name": "Điều phối", "contacts": [{"name": "ĐP", "email": "dp@lab.invalid"}]},
        },
        "timers": Timers(group_wait_s=30, group_interval_s=300, repeat_interval_s=3600),
    }
    base.update(overrides)
    return NotifyConfig.model_validate(base)
