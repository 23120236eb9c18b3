"""Delivery isolation: bad URLs fail one row (no secret shown), claims name their process,
``delivery_failing`` avoids the failing channel and, if need be, its post."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.engine import Engine

from alerting.incidents import IncidentKind, Severity
from alerting.notify.channel_urls import url_problem
from alerting.notify.channels import ChannelSender, Redactor, SendResult, mask_url, url_secrets
from alerting.notify.claims import ProcessIdentity
from alerting.notify.config import Channel, ChannelKind, NotifyConfig
from alerting.notify.config_load import load_notify_config
from alerting.notify.messages import Rendered
from alerting.notify.notifier import Notifier
from alerting.notify.outbox import Outbox
from alerting.notify.routing import Router
from alerting.notify.tables import notify_outbox
from alerting.notify.worker import OutboxWorker
from alerting.repository import IncidentRepository
from common.errors import ConfigError
from inventory.inventory import Inventory
from tests.unit.notify.conftest import T0, TZ, closed_port_email, config
from tests.unit.notify.test_config_routing import incident

SECRET = "S3cr3t+PLANT-xyz"
POISONED = f"zalo://123456789:{SECRET}/{{target}}"
MESSAGE = Rendered("tiêu đề", "tin ngắn", "nội dung", "<p>nội dung</p>")


def zalo(url: str = POISONED) -> Channel:
    """A Zalo channel (poisoned by default)."""
    return Channel(kind=ChannelKind.ZALO, url=SecretStr(url), max_attempts=5)


def test_masking_a_url_nobody_can_parse_never_raises_nor_leaks() -> None:
    for url in (POISONED, "zalo://:S3cr3t+PLANT-xyz/x", "smsgw://[bad/x", "://", ""):
        shown = mask_url(url)
        assert "PLANT" not in shown and "s3cr3t" not in shown.lower()
    assert mask_url(POISONED) == "zalo://***"


def test_redaction_is_case_insensitive_and_knows_bot_tokens() -> None:
    redact = Redactor()
    redact.add(*url_secrets(POISONED))
    text = redact(f"token {SECRET.lower()} / {SECRET.upper()} / 123456789%3A{SECRET}")
    assert "plant" not in text.lower(), text


def test_a_poisoned_url_is_a_permanent_failure_without_the_secret() -> None:
    result = ChannelSender({"zalo": zalo()}).send("zalo", "12345", MESSAGE, "t-1")
    assert not result.ok and result.permanent
    assert "zalo" in (result.error or "") and "plant" not in (result.error or "").lower()


def test_channel_urls_checked_when_the_file_loads(tmp_path: Path) -> None:
    assert url_problem(zalo()) is not None
    assert url_problem(zalo("zalo://123456789:AbcDef_123/{target}")) is None
    assert (
        url_problem(Channel(kind=ChannelKind.SMS, url=SecretStr("smsgw://gw.example.vn/{target}")))
        is not None
    )
    assert url_problem(closed_port_email()) is None
    path = tmp_path / "routes.yaml"
    path.write_text(
        "channels:\n"
        f"  zalo: {{kind: zalo, url: '{POISONED}'}}\n"
        "  sms: {kind: sms, url: 'smsgw://${SMS_KEY}@gw.example.vn/{target}'}\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as err:
        load_notify_config(path, env={})
    text = str(err.value)
    assert f"{path}:2: channels.zalo.url: apprise không đọc được URL" in text and "'zalo://***'" in text
    assert text.count("channels.sms.url") == 1  # the missing variable, not a second complaint
    assert "PLANT" not in text


class Exploding(ChannelSender):
    """A sender whose Zalo path raises (a plugin or masking bug) with the secret in the message."""

    def send(
        self,
        channel: str,
        target: str,
        message: Rendered,
        tracking: str,
        headers: dict[str, str] | None = None,
    ) -> SendResult:
        if channel == "zalo":
            raise ValueError(f"Port could not be cast to integer value as '{SECRET}'")
        return SendResult(True)


def test_a_row_that_raises_fails_alone_and_falls_back_in_the_same_pass(
    db: Engine, lab_inventory: Inventory, caplog: pytest.LogCaptureFixture
) -> None:
    cfg = config(
        channels={"zalo": zalo(), "email": closed_port_email()},
        posts={
            "noc": {
                "name": "NOC",
                "channels": ["zalo", "email"],
                "contacts": [
                    {"name": "A", "zalo": "1", "email": "a@lab.invalid"},
                    {"name": "B", "zalo": "2", "email": "b@lab.invalid"},
                ],
            }
        },
    )
    repo = IncidentRepository(db)
    notifier = Notifier(db, lab_inventory, cfg, incidents=repo, base_url="http://x", timezone=TZ)
    worker = OutboxWorker(notifier.outbox, Exploding(dict(cfg.channels)), cfg, timeline=repo)
    with db.begin() as conn:
        assert notifier.enqueue(conn, "noc", "k", "test", MESSAGE, T0) == 2
    report = worker.run_once(T0)
    assert (report.sent, report.fallbacks, report.failed) == (2, 2, 0)
    with db.connect() as conn:
        rows = conn.execute(select(notify_outbox)).all()
    assert {(r.status, r.delivered_via, r.total_attempts) for r in rows} == {("sent", "email", 2)}
    assert all("ValueError" in r.last_error and "PLANT" not in r.last_error for r in rows)
    assert "PLANT" not in caplog.text
    worker.close()


def test_permanent_failure_on_the_last_channel_keeps_retrying(db: Engine) -> None:
    outbox = Outbox(db)
    with db.begin() as conn:
        outbox.enqueue(
            conn,
            dedup_key="k",
            post="noc",
            contact="A",
            kind="test",
            message=MESSAGE,
            chain=[("zalo", "1"), ("email", "a@x")],
            now=T0,
        )
    (row,) = outbox.claim_due(T0)
    assert outbox.failed(row, T0, "bad", 5, permanent=True) == "fallback→email"
    (row,) = outbox.claim_due(T0)
    assert row.channel == ("email", "a@x")
    assert outbox.failed(row, T0, "bad", 5, permanent=True) == "retry"  # never dropped


def test_claims_name_their_process_and_only_dead_ones_are_taken_back(db: Engine) -> None:
    me = ProcessIdentity.current()
    assert ProcessIdentity.parse(str(me)) == me
    child = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True
    )
    dead = dataclasses.replace(me, pid=int(child.stdout), token="dead")
    parent = ProcessIdentity(me.host, me.boot, os.getppid(), _start(os.getppid()), "live")
    assert me.holder_gone(dead)
    assert me.holder_gone(dataclasses.replace(me, boot="another-boot", token="x"))  # a previous boot
    assert me.holder_gone(dataclasses.replace(me, start="1", token="x"))  # our pid, reused
    assert not me.holder_gone(parent)  # alive
    assert not me.holder_gone(dataclasses.replace(dead, host="other-node"))  # not ours to judge
    assert not me.holder_gone(me)

    old, new = Outbox(db, identity=dead), Outbox(db, identity=me)
    with db.begin() as conn:
        for i in range(3):
            old.enqueue(
                conn,
                dedup_key=f"k{i}",
                post="noc",
                contact=f"C{i}",
                kind="test",
                message=MESSAGE,
                chain=[("email", "a@x")],
                now=T0,
            )
    rows = old.claim_due(T0)
    old.attempting(rows[0], T0)  # in flight at the "crash"
    assert new.claim_due(T0 + 1) == []  # the lease still runs
    reclaimed = new.reclaim_orphans(T0 + 1)
    assert reclaimed.rows == 3 and [r.id for r in reclaimed.in_flight] == [rows[0].id]
    assert len(new.claim_due(T0 + 1)) == 3 and new.crash_resends() == 1
    assert new.reclaim_orphans(T0 + 2).rows == 0  # our own claims are ours


def _start(pid: int) -> str:
    return (
        Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[19] if Path("/proc").exists() else ""
    )


def failing_config() -> NotifyConfig:
    """NOC reachable only by Zalo; coordinators by e-mail."""
    return config(
        channels={"zalo": zalo("zalo://123456789:AbcDef_123/{target}"), "email": closed_port_email()},
        posts={
            "noc": {"name": "NOC", "channels": ["zalo"], "contacts": [{"name": "A", "zalo": "1"}]},
            "coordinators": {
                "name": "ĐP",
                "contacts": [{"name": "B", "email": "b@lab.invalid", "zalo": "2"}],
                "channels": ["zalo", "email"],
            },
        },
    )


def test_delivery_failing_goes_to_another_channel_or_post(lab_inventory: Inventory) -> None:
    router = Router(lab_inventory, failing_config(), TZ)
    failing = incident(
        lab_inventory,
        "p31-agg01",
        IncidentKind.DELIVERY_FAILING,
        Severity.MAJOR,
        details={"problems": ["delivery_failing:zalo"]},
    )
    assert router.failing_channels(failing) == {"zalo"}
    posts = router.posts_for(failing, T0)
    assert posts == ["noc"]
    assert router.avoiding(posts, router.failing_channels(failing)) == ["noc", "coordinators"]
    (delivery,) = router.deliveries("coordinators", frozenset({"zalo"}))
    assert [ch for ch, _ in delivery.chain] == ["email", "zalo"]  # the failing channel last
    assert router.avoiding(["coordinators"], frozenset({"zalo"})) == ["coordinators"]
    busy = frozenset({"coordinators"})  # stuck, and the NOC only by Zalo: nothing better to add
    assert router.avoiding(["coordinators"], frozenset({"zalo"}), busy) == ["coordinators"]
    assert router.avoiding(["coordinators"], frozenset({"email"}), busy) == ["coordinators", "noc"]
    assert router.failing_channels(incident(lab_inventory, "p31-agg01")) == frozenset()


def test_delivery_failing_incident_routed_past_the_stuck_post(db: Engine, lab_inventory: Inventory) -> None:
    notifier = Notifier(db, lab_inventory, failing_config(), incidents=IncidentRepository(db), base_url="http://x",
                        timezone=TZ)
    failing = incident(
        lab_inventory,
        "p31-agg01",
        IncidentKind.DELIVERY_FAILING,
        Severity.MAJOR,
        details={"problems": ["delivery_failing:zalo"]},
    )
    with db.begin() as conn:
        assert notifier._posts(conn, failing, T0) == ["noc", "coordinators"]


def test_channel_health_counts_per_current_channel(db: Engine) -> None:
    """The delivery health self-monitoring and /metrics are given: per channel a row is on now."""
    outbox = Outbox(db)
    with db.begin() as conn:
        for i, (chain, attempts) in enumerate(((["zalo", "email"], 0), (["zalo"], 4), (["email"], 0))):
            outbox.enqueue(conn, dedup_key=f"k{i}", post="noc", contact="A", kind="test", message=MESSAGE,
                           chain=[(ch, f"{ch}://x") for ch in chain], now=T0)
            conn.execute(notify_outbox.update().where(notify_outbox.c.dedup_key == f"k{i}")
                         .values(total_attempts=attempts))
    health = outbox.channel_health(T0 + 700, failed_attempts=3, stuck_s=600)
    assert health["zalo"] == {"pending": 2, "failing": 1, "stuck": 2, "failed": 4}
    assert health["email"] == {"pending": 1, "failing": 0, "stuck": 1, "failed": 0}
    assert outbox.channel_health(T0, failed_attempts=3, stuck_s=600)["zalo"]["stuck"] == 0
