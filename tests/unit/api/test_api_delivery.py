"""Was the post told? Delivery status of an incident read from the real outbox and timeline.

Rows go through the real :class:`alerting.notify.outbox.Outbox` life cycle
(enqueue, claim, attempt, sent / failed / fallback) on a fresh alerting
database; the reader must say delivered, retrying, failed, pending or no channel.
"""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine

from alerting.db import database_url, open_database
from alerting.incidents import IncidentEvent
from alerting.notify.delivery import DeliveryReader
from alerting.notify.messages import Rendered
from alerting.notify.outbox import Outbox
from alerting.notify.tables import notify_alerts
from api.views import delivery

NOW = 1_790_000_000
MESSAGE = Rendered("Sự cố", "Sự cố", "Sự cố", "<p>Sự cố</p>")
INCIDENT = 7


@pytest.fixture()
def engine(tmp_path: Path) -> Engine:
    return open_database(database_url(tmp_path / "alerting.sqlite"))


def enqueue(
    outbox: Outbox, post: str, contact: str, chain: list[tuple[str, str]], incident: int = INCIDENT
) -> None:
    meta = {"post": post, "post_name": f"Trực ban {post}", "incidents": [incident], "down": [incident],
            "recovered": []}
    with outbox.engine.begin() as conn:
        conn.execute(notify_alerts.insert().values(
            post=post, incident_id=incident, level=0, severity=4, scope=0, status="firing", dirty=False,
            queued_at=NOW, snapshot={}))
        assert outbox.enqueue(conn, dedup_key=f"{post}:{contact}:{incident}", post=post, contact=contact,
                              kind="alert", message=MESSAGE, chain=chain, now=NOW, meta=meta)


def test_every_status_from_the_real_outbox(engine: Engine) -> None:
    outbox = Outbox(engine)
    enqueue(outbox, "noc", "Ca trực", [("email", "noc@x.invalid")])
    enqueue(outbox, "commune:11311", "Nguyễn Văn A", [("zalo", "123"), ("email", "a@x.invalid")])
    enqueue(outbox, "commune:11314", "Trần Thị B", [("email", "b@x.invalid")])
    enqueue(outbox, "coordinators", "Điều phối", [("email", "dp@x.invalid")])
    rows = {r.post: r for r in outbox.claim_due(NOW)}
    events = []
    outbox.attempting(rows["noc"], NOW)
    outbox.sent(rows["noc"], NOW + 1)
    events.append(IncidentEvent(NOW + 1, "notify_sent", "Đã gửi", data={"outbox": rows["noc"].id}))
    outbox.failed(rows["commune:11311"], NOW + 2, "zalo: 503", max_attempts=3)  # zalo again later
    events.append(IncidentEvent(NOW + 2, "notify_failed", "Gửi không được",
                                data={"outbox": rows["commune:11311"].id}))
    outbox.failed(rows["commune:11314"], NOW + 3, "smtp: connection refused", max_attempts=3)
    events.append(IncidentEvent(NOW + 3, "notify_failed", "Gửi không được",
                                data={"outbox": rows["commune:11314"].id}))
    outbox.postpone(rows["coordinators"], NOW + 60)  # rate-limited before any attempt
    events.append(IncidentEvent(NOW + 4, "notify_nowhere",
                                "Không gửi: Ban chỉ huy xã Đảo (commune:31999) không có kênh liên lạc",
                                data={"post": "commune:31999"}))

    found = {d.post: d for d in DeliveryReader(engine).for_incident(INCIDENT, events)}
    noc = found["noc"]
    assert noc.status == "delivered" and noc.channel == "email" and noc.at == NOW + 1
    assert found["commune:11311"].status == "retrying" and found["commune:11311"].error == "zalo: 503"
    assert [t.outcome for t in found["commune:11311"].chain] == ["trying", "untried"]
    assert found["commune:11314"].status == "failed" and found["commune:11314"].next_attempt_at is not None
    assert found["coordinators"].status == "pending"
    nowhere = found["commune:31999"]
    assert nowhere.status == "no_channel" and nowhere.post_name == "Ban chỉ huy xã Đảo"

    out = delivery(found["commune:11314"], ZoneInfo("Asia/Ho_Chi_Minh"))
    assert out.status_label == "Gửi thất bại" and out.failed_channels == ["email"]
    assert "@" not in out.model_dump_json()  # addresses never leave notify: names and channels only


def test_fallback_marks_the_abandoned_channel_failed(engine: Engine) -> None:
    outbox = Outbox(engine)
    enqueue(outbox, "commune:11311", "Nguyễn Văn A", [("zalo", "123"), ("sms", "+84901"), ("email", "a@x")])
    (row,) = outbox.claim_due(NOW)
    assert outbox.failed(row, NOW, "zalo: 401", max_attempts=1).startswith("fallback")
    events = [IncidentEvent(NOW, "notify_failed", "Gửi không được", data={"outbox": row.id})]
    (d,) = DeliveryReader(engine).for_incident(INCIDENT, events)
    assert d.status == "retrying" and d.channel == "sms"
    assert [(t.channel, t.outcome) for t in d.chain] == [("zalo", "failed"), ("sms", "trying"),
                                                          ("email", "untried")]


def test_other_incidents_messages_are_not_listed(engine: Engine) -> None:
    outbox = Outbox(engine)
    enqueue(outbox, "noc", "Ca trực", [("email", "noc@x")], incident=8)
    assert DeliveryReader(engine).for_incident(INCIDENT, []) == []
