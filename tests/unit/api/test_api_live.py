"""The live channel's versions: one per scope, moving when what the scope sees moves, and only then.

Real alerting core and picture on a small generated inventory; the feed computes
as its watcher does (``_compute``), without a server.
"""

from __future__ import annotations

import secrets
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from alerting.core import AlertingCore
from alerting.db import database_url, open_database
from api.auth.accounts import AccountStore
from api.auth.audit import AuditLog
from api.context import ApiContext, Security, WebOptions
from api.live import LiveFeed
from api.picture import PictureCache
from inventory.loader import load_inventory
from lab.generator import generate_lab
from lab.outages import behind
from store.sqlite import SqliteMetricStore
from tests.unit.alerting.helpers import results

TZ = ZoneInfo("Asia/Ho_Chi_Minh")


class NoCycle:
    """No poller."""

    last = None


def test_a_scoped_version_moves_with_its_commune_only(tmp_path: Path) -> None:
    inventory = load_inventory(generate_lab(tmp_path / "lab", "31", port=16197, limit=2).inventory)
    mine, other = inventory.watched_communes
    store = SqliteMetricStore(tmp_path / "metrics.sqlite")
    engine = open_database(database_url(tmp_path / "alerting.sqlite"))
    try:
        core = AlertingCore(inventory, store, engine, timezone=TZ)
        security = Security(AccountStore(engine, secrets.token_bytes(32)), AuditLog(engine))
        ctx = ApiContext(inventory, core.tracker, store, NoCycle(), TZ, core, security=security)
        feed = LiveFeed(ctx, PictureCache(ctx))
        scopes = [None, frozenset({mine})]
        now = int(time.time())

        def states(silent: set[str]) -> dict[object, object]:
            core(results(inventory, now, silent=silent))
            feed.picture = PictureCache(ctx)  # as the next poll cycle's picture
            feed._compute(scopes)
            return dict(feed.states)

        calm = states(set())
        assert calm == states(set())  # nothing moved: the same versions
        elsewhere = states(set(behind(inventory, f"c{other}-r1")))
        assert elsewhere[frozenset({mine})] == calm[frozenset({mine})]  # another commune moved: not mine
        assert elsewhere[None].version != calm[None].version and elsewhere[None].active > 0  # type: ignore[attr-defined]
        here = states(set(behind(inventory, f"c{mine}-r1")))
        assert here[frozenset({mine})].version != calm[frozenset({mine})].version  # type: ignore[attr-defined]
        assert here[frozenset({mine})].active >= 1  # type: ignore[attr-defined]
    finally:
        store.close()
        engine.dispose()


@pytest.mark.parametrize("refresh", [2, 5])
def test_heartbeat_is_the_refresh_period(tmp_path: Path, refresh: int) -> None:
    inventory = load_inventory(generate_lab(tmp_path / "lab", "31", port=16197, limit=1).inventory)
    ctx = ApiContext(inventory, object(), object(), NoCycle(), TZ, web=WebOptions(refresh_s=refresh))  # type: ignore[arg-type]
    assert LiveFeed(ctx, PictureCache(ctx)).heartbeat_s == refresh
