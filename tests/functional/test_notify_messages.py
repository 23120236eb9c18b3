"""The e-mail as a real SMTP server receives it (issue 16, observation 7).

Both parts of the multipart mail — text/plain as well as text/html — carry the
absolute runbook link and the acknowledgement link, so a mail client that shows
only plain text still lets the duty officer act.
"""

from __future__ import annotations

from collections.abc import Iterator
from zoneinfo import ZoneInfo

import pytest

from alerting.incidents import IncidentKind, Severity
from alerting.notify.channel_urls import smtp_channel
from alerting.notify.channels import ChannelSender
from alerting.notify.messages import Links, render_group
from tests.functional.notify_peers import SmtpSink

pytestmark = pytest.mark.functional
LINKS = Links("https://trucban.haiphong.gov.vn", ZoneInfo("Asia/Ho_Chi_Minh"))


@pytest.fixture()
def plain_smtp() -> Iterator[SmtpSink]:
    """A plain SMTP server on loopback."""
    sink = SmtpSink()
    sink.start()
    yield sink
    sink.stop()


def snap(i: int, kind: IncidentKind) -> dict:
    return {
        "id": i,
        "key": f"k{i}",
        "kind": kind.value,
        "severity": int(Severity.CRITICAL),
        "status": "open",
        "title": f"Mất kết nối: Router truy nhập Phường Hồng Bàng {i}",
        "why": "không trả lời SNMP (hết thời gian chờ)",
        "runbook": f"runbooks/{kind.value}.md",
        "commune": "11311",
        "commune_name": "Phường Hồng Bàng",
        "site": "c11311-hq",
        "site_name": "Trụ sở Phường Hồng Bàng",
        "device": "c11311-r1",
        "opened_at": 1_790_000_000,
        "resolved_at": None,
        "affected": 2,
        "communes": [],
        "minutes_left": None,
    }


def test_plain_text_part_has_absolute_runbook_and_acknowledgement_links(plain_smtp: SmtpSink) -> None:
    items = [("new", snap(41, IncidentKind.DEVICE_DOWN)), ("new", snap(42, IncidentKind.COMMUNE_ISOLATED))]
    message = render_group("Ban Chỉ huy Phường Hồng Bàng", items, 2, LINKS)
    channel = smtp_channel("127.0.0.1", plain_smtp.port, "trucban@lab.invalid", starttls=False)
    result = ChannelSender({"email": channel}).send("email", "bch@lab.invalid", message, "t-1")
    assert result.ok, result
    (mail,) = plain_smtp.to("bch@lab.invalid")
    plain = mail.message.get_body(("plain",))
    html = mail.message.get_body(("html",))
    assert plain is not None and html is not None
    for part in (plain.get_content(), html.get_content()):
        for _change, s in items:
            assert LINKS.runbook(s) in part, part
            assert LINKS.incident(s["id"]) in part, part
            assert f"XN {s['id']}" in part, part
