# ruff: noqa: F811  (pytest fixtures imported from tests.functional.notify_peers)
"""Delivery under faults, with real peers: SMTP down for five minutes, Zalo answering 429/500
(fallback Zalo → SMS → e-mail), and the process killed with messages in the outbox."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from alerting.core import AlertingCore
from alerting.db import open_database
from alerting.notify.config import NotifyConfig
from alerting.notify.facade import NotifyService
from alerting.repository import IncidentRepository
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


class Clock:
    """Simulated time shared by the core, notifier and worker."""

    def __init__(self) -> None:
        self.t = T0

    def __call__(self) -> float:
        return self.t


@pytest.fixture(scope="module")
def inventory(tmp_path_factory: pytest.TempPathFactory) -> Inventory:
    """A small lab inventory (no agents needed: poll results are synthetic)."""
    return load_inventory(generate_lab(tmp_path_factory.mktemp("lab"), "31", port=16199, limit=6).inventory)


def service(
    tmp: Path, inventory: Inventory, config: dict, clock: Clock
) -> tuple[AlertingCore, NotifyService]:
    engine = open_database(f"sqlite:///{tmp / 'alerting.sqlite'}")
    svc = NotifyService.build(
        engine,
        inventory,
        NotifyConfig.model_validate(config),
        incidents=IncidentRepository(engine),
        base_url="http://127.0.0.1:8000",
        timezone=TZ,
        clock=clock,
    )
    core = AlertingCore(
        inventory, SqliteMetricStore(tmp / "metrics.sqlite"), engine, subscribers=[svc.subscriber]
    )
    core(results(inventory, clock.t))
    return core, svc


def drive(
    core: AlertingCore, svc: NotifyService, inv: Inventory, clock: Clock, seconds: int, silent: set[str]
) -> None:
    """Advance simulated time: a poll every 30 s, a worker pass every 5 s."""
    for _ in range(seconds // 5):
        clock.t += 5
        if (clock.t - T0) % 30 == 0:
            core(results(inv, clock.t, silent=silent))
        svc.run_once(clock.t)


def test_smtp_down_five_minutes_then_everything_arrives_once_in_order(
    smtp: SmtpSink, peers: HttpPeers, inventory: Inventory, tmp_path: Path
) -> None:  # noqa: F811
    smtp.clear()
    clock = Clock()
    core, svc = service(
        tmp_path,
        inventory,
        {
            "channels": {"email": channels(smtp, peers)["email"]},
            "commune_channels": ["email"],
            "timers": {"group_wait_s": 10, "group_interval_s": 30},
            "retry": {"backoff_s": 5, "max_backoff_s": 60},
        },
        clock,
    )
    code = inventory.watched_communes[2]
    address = f"trucban.{code}@lab.invalid"
    smtp.stop()
    try:
        drive(core, svc, inventory, clock, 120, {f"c{code}-bts1"})  # down, then the DOWN can't be sent
        drive(core, svc, inventory, clock, 180, set())  # recovered; SMTP still down (5 min in all)
        assert smtp.to(address) == []
        rows = svc.outbox_page()["items"]
        assert len(rows) >= 2 and all(r["status"] == "pending" for r in rows)
        assert rows[-1]["total_attempts"] >= 3  # the first message retried with backoff all along
        assert "Connection" in rows[-1]["last_error"] and smtp.password not in rows[-1]["last_error"]
    finally:
        smtp.start()
    drive(core, svc, inventory, clock, 240, set())
    mails = smtp.to(address)
    assert mails[0].subject.startswith("[NGHIÊM TRỌNG]") and mails[-1].subject.startswith("[PHỤC HỒI]")
    assert svc.outbox.counts() == {"sent": len(rows)} and len(mails) == len(rows)  # all, in order
    assert len({m.header("X-Trucban-Outbox") for m in mails}) == len(mails)  # none twice


def test_zalo_429_and_500_fall_back_to_sms_then_email(
    smtp: SmtpSink, peers: HttpPeers, inventory: Inventory, tmp_path: Path
) -> None:  # noqa: F811
    smtp.clear()
    peers.clear()
    peers.fail = {"zalo": [429, 500, 500, 500, 500, 500], "sms": [500, 500]}
    clock = Clock()
    core, svc = service(
        tmp_path,
        inventory,
        {
            "channels": channels(smtp, peers),
            "posts": {
                "noc": {
                    "name": "NOC",
                    "channels": ["zalo", "sms", "email"],
                    "contacts": [
                        {
                            "name": "Trực NOC",
                            "zalo": "chat-noc",
                            "phone": "+84900000001",
                            "email": "noc@lab.invalid",
                        }
                    ],
                }
            },
            "timers": {"group_wait_s": 10, "group_interval_s": 30},
            "retry": {"backoff_s": 2, "max_backoff_s": 10},
        },
        clock,
    )
    cut = set(behind(inventory, "p31-agg01"))
    drive(core, svc, inventory, clock, 90, cut)  # first alert: Zalo 429, 500 → SMS 500, 500 → e-mail
    (down,) = smtp.to("noc@lab.invalid")
    assert "KHẨN" in down.subject
    assert peers.of("zalo") == [] and peers.of("sms") == []
    drive(core, svc, inventory, clock, 120, set())  # recovery: Zalo still 500 twice → SMS accepts
    noc_sms = [r for r in peers.of("sms") if r["body"]["to"] == "+84900000001"]
    assert [r["body"]["text"].startswith("[PHỤC HỒI] 2 đã phục hồi") for r in noc_sms].count(True) == 1
    rows = svc.outbox_page(post="noc")["items"]
    assert rows[-1]["delivered_via"] == "email" and {r["delivered_via"] for r in rows[:-1]} == {"sms"}
    assert all(r["status"] == "sent" for r in svc.outbox_page()["items"])  # nothing left behind


KILLED = textwrap.dedent("""
    import sys, time
    from zoneinfo import ZoneInfo
    from alerting.db import open_database
    from alerting.notify.config import NotifyConfig
    from alerting.notify.facade import NotifyService
    from alerting.notify.messages import Rendered
    from alerting.repository import IncidentRepository
    from inventory.loader import load_inventory
    db, inv_path, port, key = sys.argv[1:5]
    inv = load_inventory(inv_path)
    config = NotifyConfig.model_validate({"channels": {"sms": {"kind": "sms",
        "url": f"smsgw://{key}@127.0.0.1:{port}/{{target}}?secure=no",
        "rate_per_minute": 6000, "burst": 100}},
        "posts": {"noc": {"name": "NOC", "channels": ["sms"], "contacts": [
            {"name": f"người {i}", "phone": f"+849000000{i:02d}"} for i in range(20)]}},
        "retry": {"claim_s": 5}})
    engine = open_database(f"sqlite:///{db}")
    svc = NotifyService.build(engine, inv, config, incidents=IncidentRepository(engine), base_url="http://x",
                              timezone=ZoneInfo("Asia/Ho_Chi_Minh"), parallel=1)
    with svc.notifier.engine.begin() as conn:
        message = Rendered("s", "tin ngắn", "t", "h")
        svc.notifier.enqueue(conn, "noc", "test:1", "test", message, int(time.time()))
    print("queued", flush=True)
    while True:
        svc.run_once()
        time.sleep(0.05)
""")


def test_killed_with_messages_in_outbox_loses_nothing_sends_nothing_twice(
    peers: HttpPeers, inventory: Inventory, tmp_path: Path
) -> None:  # noqa: F811
    peers.clear()
    peers.delay_s = 0.2  # a slow gateway: the kill lands while messages are still queued
    db = tmp_path / "alerting.sqlite"
    inv_path = tmp_path / "inventory"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            KILLED,
            str(db),
            str(_inventory_file(inventory)),
            str(peers.port),
            peers.sms_key,
        ],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path.cwd())},
        cwd=Path.cwd(),
    )
    del inv_path
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "queued"
        deadline = time.monotonic() + 20
        while len(peers.of("sms")) < 5 and time.monotonic() < deadline:
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=10)
        peers.delay_s = 0.0
    before = len(peers.of("sms"))
    assert 5 <= before < 20, before

    engine = open_database(f"sqlite:///{db}")  # the restarted process
    config = NotifyConfig.model_validate(
        {
            "channels": {"sms": channels(SmtpSink(), peers)["sms"]},
            "posts": {"noc": {"name": "NOC", "channels": ["sms"]}},
            "retry": {"claim_s": 5},
        }
    )
    svc = NotifyService.build(engine, inventory, config, incidents=IncidentRepository(engine), base_url="http://x",
                              timezone=TZ)
    deadline = time.monotonic() + 30
    while svc.outbox.pending_count() and time.monotonic() < deadline:
        svc.run_once(int(time.time()) + 10)  # past the dead process's lease
        time.sleep(0.05)
    assert svc.outbox.pending_count() == 0
    refs = Counter(r["body"]["client_ref"] for r in peers.of("sms"))
    assert len(refs) == 20  # nothing lost
    duplicates = {ref: n for ref, n in refs.items() if n > 1}
    assert sum(duplicates.values()) - len(duplicates) <= 1, (
        duplicates
    )  # at most the one in flight at the kill


def _inventory_file(inventory: Inventory) -> Path:
    origin = next(iter(inventory.origins.values()), None)
    if origin is not None and origin.file.endswith(".yaml"):
        return Path(origin.file)
    raise AssertionError("inventory has no YAML origin")
