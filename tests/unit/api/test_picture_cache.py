"""The picture is rebuilt for a new evaluation, but no more often than its build time allows."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

import api.picture
from alerting.core import AlertingCore
from alerting.db import database_url, open_database
from api.auth.accounts import AccountStore
from api.auth.audit import AuditLog
from api.context import ApiContext, Security
from api.picture import BUILD_SHARE, PictureCache
from inventory.loader import load_inventory
from lab.generator import generate_lab
from store.sqlite import SqliteMetricStore
from tests.unit.alerting.helpers import results

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
SLOW_S = 0.05


class NoCycle:
    """No poller."""

    last = None


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[Any, AlertingCore, ApiContext]]:
    inventory = load_inventory(generate_lab(tmp_path / "lab", "31", port=16197, limit=2).inventory)
    store = SqliteMetricStore(tmp_path / "metrics.sqlite")
    engine = open_database(database_url(tmp_path / "alerting.sqlite"))
    core = AlertingCore(inventory, store, engine, timezone=TZ)
    security = Security(AccountStore(engine, secrets.token_bytes(32)), AuditLog(engine))
    yield inventory, core, ApiContext(inventory, core.tracker, store, NoCycle(), TZ, core, security=security)
    store.close()
    engine.dispose()


def slow_builds(monkeypatch: pytest.MonkeyPatch) -> None:
    """Builds that take SLOW_S (as a national picture takes longer than a city's)."""
    real = api.picture.build_picture

    def build(*args: Any, **kwargs: Any) -> Any:
        time.sleep(SLOW_S)
        return real(*args, **kwargs)

    monkeypatch.setattr(api.picture, "build_picture", build)


def test_a_new_evaluation_waits_for_the_spacing(world: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    inventory, core, ctx = world
    slow_builds(monkeypatch)
    cache = PictureCache(ctx, ttl=60)
    now = int(time.time())
    core(results(inventory, now))
    pic = cache.get()
    core(results(inventory, now + 1))  # a new evaluation at once
    assert cache.fresh(pic)  # still served: built less than SLOW_S / BUILD_SHARE ago
    time.sleep(SLOW_S / BUILD_SHARE + 0.05)
    assert not cache.fresh(pic)  # the spacing is over: the next read rebuilds
    core(results(inventory, now + 2))
    with cache._lock:
        cache._build()
    assert cache.fresh(cache._picture)
    cache.invalidate()  # a person's own change (an acknowledgement) shows at once
    assert not cache.fresh(cache._picture)


def test_a_quick_build_shows_every_evaluation(world: Any) -> None:
    inventory, core, ctx = world
    cache = PictureCache(ctx, ttl=60)
    now = int(time.time())
    core(results(inventory, now))
    pic = cache.get()
    assert cache.fresh(pic)
    time.sleep(cache._build_s / BUILD_SHARE + 0.01)  # milliseconds for two communes
    core(results(inventory, now + 1))
    assert not cache.fresh(pic)
