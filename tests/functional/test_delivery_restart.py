# ruff: noqa: F811  (pytest fixtures imported from tests.functional.notify_peers)
"""Restart after a crash, with a real process killed (SIGKILL) in the middle of a send.

Claims carry the process identity: the restarted node sees the dead process's
claims and takes them back at once (not after the 120 s lease), and since every
attempt is recorded before it is made, only the row in flight at the kill can
arrive twice — and that resend is counted.
"""

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
from sqlalchemy import select

from alerting.db import open_database
from alerting.notify.config import NotifyConfig
from alerting.notify.facade import NotifyService
from alerting.notify.tables import notify_outbox
from alerting.repository import IncidentRepository
from inventory.loader import load_inventory
from lab.generator import generate_lab
from tests.functional.notify_peers import HttpPeers, SmtpSink, channels, peers  # noqa: F401

pytestmark = pytest.mark.functional
TZ = ZoneInfo("Asia/Ho_Chi_Minh")
CONTACTS = 20

SENDER = textwrap.dedent("""
    import sys, time
    from zoneinfo import ZoneInfo
    from alerting.db import open_database
    from alerting.notify.config import NotifyConfig
    from alerting.notify.facade import NotifyService
    from alerting.notify.messages import Rendered
    from alerting.repository import IncidentRepository
    from inventory.loader import load_inventory
    db, inv_path, port, key, contacts = sys.argv[1:6]
    config = NotifyConfig.model_validate({"channels": {"sms": {"kind": "sms",
        "url": f"smsgw://{key}@127.0.0.1:{port}/{{target}}?secure=no",
        "rate_per_minute": 6000, "burst": 100}},
        "posts": {"noc": {"name": "NOC", "channels": ["sms"], "contacts": [
            {"name": f"người {i}", "phone": f"+849000000{i:02d}"} for i in range(int(contacts))]}}})
    engine = open_database(f"sqlite:///{db}")
    svc = NotifyService.build(engine, load_inventory(inv_path), config, incidents=IncidentRepository(engine),
                              base_url="http://x", timezone=ZoneInfo("Asia/Ho_Chi_Minh"), parallel=1)
    with svc.notifier.engine.begin() as conn:
        message = Rendered("s", "tin ngắn", "t", "h")
        svc.notifier.enqueue(conn, "noc", "test:1", "test", message, int(time.time()))
    print("queued", flush=True)
    while True:
        svc.run_once()
        time.sleep(0.05)
""")


@pytest.fixture(scope="module")
def inventory_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small lab inventory file."""
    return generate_lab(tmp_path_factory.mktemp("lab"), "31", port=16199, limit=6).inventory


def test_restart_reclaiming_claimed_rows_at_once(
    peers: HttpPeers, inventory_file: Path, tmp_path: Path
) -> None:  # noqa: F811
    peers.clear()
    peers.delay_s = 0.3  # a slow gateway: the kill lands while a send is in flight
    db = tmp_path / "alerting.sqlite"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            SENDER,
            str(db),
            str(inventory_file),
            str(peers.port),
            peers.sms_key,
            str(CONTACTS),
        ],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path.cwd())},
        cwd=Path.cwd(),
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "queued"
        deadline = time.monotonic() + 30
        while len(peers.of("sms")) < 4 and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.1)  # inside the gateway's 0.3 s answer: the fifth send is in flight
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=10)
        peers.delay_s = 0.0
    before = len(peers.of("sms"))
    assert 4 <= before < CONTACTS, before

    engine = open_database(f"sqlite:///{db}")
    c = notify_outbox.c
    with engine.connect() as conn:
        claimed = conn.execute(select(c.id, c.claimed_by, c.claimed_until).where(c.status == "sending")).all()
    now = int(time.time())
    assert claimed and all(r.claimed_until > now + 60 for r in claimed)  # the 120 s lease is far from over
    assert all(f"|{proc.pid}|" in r.claimed_by for r in claimed)  # claims name the (dead) process

    # The restarted node: the same clock, not past the lease.
    inventory = load_inventory(inventory_file)
    config = NotifyConfig.model_validate(
        {
            "channels": {"sms": channels(SmtpSink(), peers)["sms"]},
            "posts": {"noc": {"name": "NOC", "channels": ["sms"]}},
        }
    )
    svc = NotifyService.build(engine, inventory, config, incidents=IncidentRepository(engine), base_url="http://x",
                              timezone=TZ)
    started = time.monotonic()
    first = svc.run_once(now)
    assert first.reclaimed == len(claimed)
    assert first.sent >= 1  # the dead process's rows go in the very first pass
    while svc.outbox.pending_count() and time.monotonic() - started < 20:
        svc.run_once(int(time.time()))
    assert svc.outbox.pending_count() == 0
    assert time.monotonic() - started < 20  # nowhere near the 120 s lease

    refs = Counter(r["body"]["client_ref"] for r in peers.of("sms"))
    assert len(refs) == CONTACTS  # nothing lost
    duplicates = sum(n - 1 for n in refs.values())
    resends = svc.outbox.crash_resends()
    assert first.resent_after_crash == resends <= 1  # only the one in flight at the kill
    assert duplicates <= resends  # every duplicate is counted
    assert svc.status()["crash_resends"] == resends
    svc.worker.close()
