# ruff: noqa: F811  (pytest fixtures imported from tests.functional.notify_peers)
"""Delivery isolation with real peers (aiosmtpd SMTP, an HTTP server speaking the Zalo/SMS APIs).

A Zalo URL apprise cannot parse, with a ``:`` in its secret, used to make URL
masking raise in every outbox pass: the NOC alert stayed "sending" with no
fallback and the alerts after it queued behind. Now the poisoned row fails
alone, is recorded without the secret, and falls back to SMS in the same pass;
the URL is refused when the routes file loads, naming file, line and field.
"""

from __future__ import annotations

import logging
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import MetaData, select
from sqlalchemy.engine import Engine

from alerting.core import AlertingCore
from alerting.db import open_database
from alerting.notify.config import NotifyConfig
from alerting.notify.config_load import load_notify_config
from alerting.notify.facade import NotifyService
from alerting.notify.messages import Rendered
from alerting.repository import IncidentRepository
from common.errors import ConfigError
from inventory.inventory import Inventory
from inventory.loader import load_inventory
from lab.generator import generate_lab
from lab.outages import behind
from store.sqlite import SqliteMetricStore
from tests.functional.notify_peers import HttpPeers, SmtpSink, channels, peers, smtp  # noqa: F401
from tests.unit.alerting.helpers import results

pytestmark = pytest.mark.functional
TZ = ZoneInfo("Asia/Ho_Chi_Minh")
T0 = 1_789_963_200  # 10:00 local
SECRET = "S3cr3t+PLANT-xyz"  # '+' is not allowed in a Zalo bot token: apprise cannot parse the URL
POISONED = f"zalo://123456789:{SECRET}/{{target}}"  # the ':' makes urlsplit see a port and raise


class Clock:
    """Simulated time shared by the core, notifier and worker."""

    def __init__(self) -> None:
        self.t = T0

    def __call__(self) -> float:
        return self.t


@pytest.fixture(scope="module")
def inventory(tmp_path_factory: pytest.TempPathFactory) -> Inventory:
    """A small lab inventory (poll results are synthetic)."""
    return load_inventory(generate_lab(tmp_path_factory.mktemp("lab"), "31", port=16199, limit=6).inventory)


def assert_no_secret(text: str) -> None:
    """Neither the secret nor a piece of it, in any case."""
    low = text.lower()
    for piece in (SECRET, "PLANT-xyz", "s3cr3t"):
        assert piece.lower() not in low, f"{piece!r} leaked"


def dump(engine: Engine) -> str:
    """Every row of every table of the alerting database, as text."""
    meta = MetaData()
    meta.reflect(engine)
    out = []
    with engine.connect() as conn:
        for table in meta.sorted_tables:
            out += [repr(tuple(r)) for r in conn.execute(select(table))]
    return "\n".join(out)


def test_poisoned_channel_falling_back_within_one_outbox_pass(
    smtp: SmtpSink, peers: HttpPeers, inventory: Inventory, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:  # noqa: F811
    smtp.clear()
    peers.clear()
    caplog.set_level(logging.DEBUG)
    clock = Clock()
    engine = open_database(f"sqlite:///{tmp_path / 'alerting.sqlite'}")
    config = NotifyConfig.model_validate(  # built in code: the load-time check is the other test
        {
            "channels": channels(smtp, peers, zalo={"url": POISONED}),
            "posts": {
                "noc": {
                    "name": "NOC",
                    "channels": ["zalo", "sms", "email"],
                    "contacts": [
                        {
                            "name": "Trực NOC",
                            "zalo": "12345",
                            "phone": "+84900000001",
                            "email": "noc@lab.invalid",
                        }
                    ],
                }
            },
            "timers": {"group_wait_s": 10, "group_interval_s": 30},
        }
    )
    svc = NotifyService.build(engine, inventory, config, incidents=IncidentRepository(engine), base_url="http://x",
                              timezone=TZ, clock=clock)
    core = AlertingCore(
        inventory, SqliteMetricStore(tmp_path / "metrics.sqlite"), engine, subscribers=[svc.subscriber]
    )
    core(results(inventory, clock.t))
    cut = set(behind(inventory, "p31-agg01"))

    rows: list[dict] = []
    for _ in range(30):  # a poll every 30 s, an outbox pass every 5 s
        clock.t += 5
        if (clock.t - T0) % 30 == 0:
            core(results(inventory, clock.t, silent=cut))
        report = svc.run_once(clock.t)
        rows = svc.outbox_page(post="noc")["items"]
        if rows:
            break
    (first,) = rows
    # The pass that created the NOC alert also delivered it: Zalo failed alone, SMS took it at once.
    assert first["status"] == "sent" and first["delivered_via"] == "sms", first
    assert first["total_attempts"] == 2 and report.fallbacks == 1 and report.sent == 1
    assert "zalo" in (first["last_error"] or "") and "URL" in first["last_error"]
    (sms,) = [r for r in peers.of("sms") if r["body"]["to"] == "+84900000001"]
    assert "KHẨN" in sms["body"]["text"] or "NGHIÊM TRỌNG" in sms["body"]["text"]
    (incident,) = [i for i in svc.notifier.repo.active().values() if i.kind.value == "communes_cut_off"]
    events = [e for e in svc.notifier.repo.get(incident.id).events if e.kind.startswith("notify_")]
    assert [(e.kind, e.ts) for e in events][-2:] == [("notify_failed", clock.t), ("notify_sent", clock.t)]
    assert "chuyển sang kênh sms" in events[-2].text

    # Five later alerts to the same contact do not queue behind a stuck row: each falls back in its pass.
    with engine.begin() as conn:
        for i in range(5):
            message = Rendered(f"tin {i}", f"tin ngắn {i}", f"tin {i}", f"<p>tin {i}</p>")
            svc.notifier.enqueue(conn, "noc", f"later:{i}", "test", message, clock.t)
    for _ in range(5):
        clock.t += 1
        svc.run_once(clock.t)
    later = [r for r in svc.outbox_page(post="noc")["items"] if r["kind"] == "test"]
    assert len(later) == 5 and {(r["status"], r["delivered_via"]) for r in later} == {("sent", "sms")}
    assert [r["body"]["text"] for r in peers.of("sms")][-5:] == [f"tin ngắn {i}" for i in range(5)]
    assert svc.outbox.counts() == {"sent": 6}

    assert_no_secret(caplog.text)
    assert_no_secret(dump(engine))
    assert_no_secret(str(svc.status()))


def test_poisoned_channel_url_refused_when_the_routes_file_loads(tmp_path: Path) -> None:
    routes = tmp_path / "routes.yaml"
    routes.write_text(
        "channels:\n"
        "  zalo:\n"
        "    kind: zalo\n"
        "    url: zalo://123456789:${ZALO_SECRET}/{target}\n"
        "  sms:\n"
        "    kind: sms\n"
        "    ulr: smsgw://S3cr3t-PLANT-xyz@127.0.0.1/{target}\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as info:
        load_notify_config(routes, env={"ZALO_SECRET": SECRET})
    text = str(info.value)
    assert f"{routes}:4: channels.zalo.url: apprise không đọc được URL" in text
    assert "'zalo://***'" in text
    assert f"{routes}:7: channels.sms.ulr" in text  # the mistyped key is named, its value is not
    assert_no_secret(text)
