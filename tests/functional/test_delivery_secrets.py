# ruff: noqa: F811  (pytest fixtures imported from tests.functional.notify_peers)
"""Secrets planted and never found: a routes file and a credentials file with the mistakes that
used to print them (unknown credential ``kind``, mistyped ``url`` key, a Zalo URL apprise rejects,
in upper and lower case), then real deliveries; no log line, error text, status answer or
database row holds a planted secret, in any case."""

from __future__ import annotations

import logging
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import MetaData, select
from sqlalchemy.engine import Engine

from alerting.db import open_database
from alerting.notify.config import NotifyConfig
from alerting.notify.config_load import load_notify_config
from alerting.notify.facade import NotifyService
from alerting.notify.messages import Rendered
from alerting.repository import IncidentRepository
from common.errors import ConfigError, InventoryError
from inventory.loader import load_inventory
from lab.generator import generate_lab
from tests.functional.notify_peers import HttpPeers, SmtpSink, channels, peers, smtp  # noqa: F401
from tests.unit.inventory.test_loader import GOOD, write

pytestmark = pytest.mark.functional
TZ = ZoneInfo("Asia/Ho_Chi_Minh")
PLANTED = ("S3cr3t-PLANT-xyz", "S3CR3T+PLANT-UPPER", "S3cr3t-PLANT-sms", "S3cr3t-PLANT-community")
ROUTES = """\
channels:
  zalo:
    kind: zalo
    url: zalo://123456789:S3cr3t-PLANT-xyz:extra/{target}
  zalo2:
    kind: zalo
    url: zalo://S3CR3T+PLANT-UPPER/{target}
  sms:
    kind: sms
    ulr: smsgw://S3cr3t-PLANT-sms@127.0.0.1/{target}
"""
CREDS = """\
credentials:
  lab: {kind: snmp_v2c, community: lab-community}
  hp: {kind: snmp_v4, community: S3cr3t-PLANT-community}
"""


def assert_clean(text: str) -> None:
    """No planted secret, in any case, nor the marker planted in each."""
    low = text.lower()
    for secret in PLANTED:
        assert secret.lower() not in low, secret
    assert "plant-" not in low, text[max(0, low.find("plant-") - 200) : low.find("plant-") + 50]


def rows_of(engine: Engine) -> str:
    """Every row of every table, as text."""
    meta = MetaData()
    meta.reflect(engine)
    with engine.connect() as conn:
        return "\n".join(repr(tuple(r)) for t in meta.sorted_tables for r in conn.execute(select(t)))


def test_secrets_planted_and_never_found(
    smtp: SmtpSink, peers: HttpPeers, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:  # noqa: F811
    caplog.set_level(logging.DEBUG)
    errors = []
    routes = tmp_path / "routes.yaml"
    routes.write_text(ROUTES, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_notify_config(routes, env={})
    errors.append(str(info.value))
    assert "channels.zalo.url" in errors[-1] and "channels.zalo2.url" in errors[-1]
    assert "channels.sms.ulr" in errors[-1]
    (tmp_path / "inv").mkdir()
    with pytest.raises(InventoryError) as inv_info:
        load_inventory(write(tmp_path / "inv", GOOD, CREDS), env={})
    errors.append(str(inv_info.value))
    assert "credentials.hp" in errors[-1]

    # The same poisoned URLs at run time (built in code, past the load check): deliveries still go.
    peers.clear()
    smtp.clear()
    chans = channels(smtp, peers)
    chans["zalo"] = {"kind": "zalo", "url": "zalo://123456789:S3cr3t-PLANT-xyz:extra/{target}"}
    chans["zalo2"] = {"kind": "zalo", "url": "zalo://S3CR3T+PLANT-UPPER/{target}"}
    config = NotifyConfig.model_validate(
        {
            "channels": chans,
            "posts": {
                "noc": {
                    "name": "NOC",
                    "channels": ["zalo", "zalo2", "sms"],
                    "contacts": [{"name": "Trực NOC", "zalo": "12345", "phone": "+84900000001"}],
                }
            },
        }
    )
    engine = open_database(f"sqlite:///{tmp_path / 'alerting.sqlite'}")
    inventory = load_inventory(generate_lab(tmp_path / "lab", "31", port=16199, limit=3).inventory)
    svc = NotifyService.build(engine, inventory, config, incidents=IncidentRepository(engine), base_url="http://x",
                              timezone=TZ)
    with engine.begin() as conn:
        for i in range(3):
            svc.notifier.enqueue(
                conn, "noc", f"t:{i}", "test", Rendered("s", f"tin {i}", "t", "h"), 1_790_000_000
            )
    for step in range(3):
        svc.run_once(1_790_000_000 + step)
    assert svc.outbox.counts() == {"sent": 3}
    assert [r["body"]["text"] for r in peers.of("sms")] == ["tin 0", "tin 1", "tin 2"]
    page = svc.outbox_page()["items"]
    assert all("zalo" in r["last_error"] for r in page)

    for text in (*errors, caplog.text, rows_of(engine), repr(svc.status()), repr(page)):
        assert_clean(text)
    svc.worker.close()
