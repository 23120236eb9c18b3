# ruff: noqa: F811  (pytest fixtures imported from tests.functional.notify_peers)
"""Alert delivery against real peers on loopback: SMTP (STARTTLS + AUTH), Zalo Bot API, Zalo OA/ZNS,
an SMS gateway and a webhook; and a running Trucban paging a command post when a lab router dies."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import uvicorn
import yaml

from alerting.notify.channels import ChannelSender
from alerting.notify.config import NotifyConfig
from alerting.notify.config_load import load_notify_config
from alerting.notify.facade import NotifyService
from alerting.notify.messages import Rendered
from alerting.repository import IncidentRepository
from lab.outages import cut, restore
from tests.functional.conftest import Lab, free_tcp_port, wait_for
from tests.functional.notify_peers import HttpPeers, SmtpSink, channels, peers, smtp  # noqa: F401
from trucban.service import build_service
from trucban.settings import load_settings

pytestmark = pytest.mark.functional
MESSAGE = Rendered(
    "[KHẨN] Phường Hồng Bàng: 1 sự cố",
    "[KHẨN] Mất kết nối: Router truy nhập (từ 14:05 21/9)",
    "Mất kết nối: Router truy nhập Phường Hồng Bàng\nNguyên nhân: không trả lời",
    "<html><body><b>Mất kết nối</b>: Router truy nhập Phường Hồng Bàng</body></html>",
)


def test_every_channel_speaks_its_documented_format(smtp: SmtpSink, peers: HttpPeers) -> None:  # noqa: F811
    smtp.clear()
    peers.clear()
    config = NotifyConfig.model_validate({"channels": channels(smtp, peers)})
    sender = ChannelSender(dict(config.channels))
    for name, target in (
        ("email", "a@lab.invalid"),
        ("zalo", "chat-42"),
        ("zns", "0901234567"),
        ("zns", "oa-user-7"),
        ("sms", "+84901234567"),
        ("hook", ""),
    ):
        result = sender.send(name, target, MESSAGE, "trucban-1", {"X-Trucban-Down": "5"})
        assert result.ok, (name, result)
    (mail,) = smtp.to("a@lab.invalid")
    assert mail.tls and mail.subject == MESSAGE.subject and mail.header("X-Trucban-Down") == "5"
    assert "Router truy nhập Phường Hồng Bàng" in mail.body()
    (zalo,) = peers.of("zalo")
    assert zalo["body"] == {"chat_id": "chat-42", "text": MESSAGE.text}
    (zns,) = peers.of("zns")
    assert zns["body"] == {
        "phone": "84901234567",
        "template_id": "7895417",
        "template_data": {"content": MESSAGE.short},
        "tracking_id": "trucban-1",
    }
    (oa,) = peers.of("oa")
    assert oa["body"] == {"recipient": {"user_id": "oa-user-7"}, "message": {"text": MESSAGE.short}}
    (sms,) = peers.of("sms")
    assert sms["body"] == {
        "to": "+84901234567",
        "brandname": "TRUCBAN",
        "text": MESSAGE.short,
        "client_ref": "trucban-1",
    }
    assert len(peers.of("hook")) == 1


def test_secrets_are_masked_in_status_and_errors(smtp: SmtpSink, peers: HttpPeers, tmp_path: Path) -> None:  # noqa: F811
    wrong = channels(smtp, peers, zalo={"url": "zalo://123456789:wrongSecretToken99/{target}"})
    config = NotifyConfig.model_validate({"channels": wrong})
    sender = ChannelSender(dict(config.channels))
    result = sender.send("zalo", "chat-42", MESSAGE, "trucban-2")
    assert not result.ok and "401" in (result.error or "")
    secrets = (smtp.password, peers.oa_token, peers.sms_key, "wrongSecretToken99")
    assert not any(s in (result.error or "") for s in secrets)
    from alerting.db import open_database
    from inventory.loader import load_inventory
    from lab.generator import generate_lab

    inv = load_inventory(generate_lab(tmp_path / "lab", "31", port=16199, limit=2).inventory)
    engine = open_database(f"sqlite:///{tmp_path / 'a.sqlite'}")
    svc = NotifyService.build(
        engine,
        inv,
        config,
        incidents=IncidentRepository(engine),
        base_url="http://x",
        timezone=ZoneInfo("Asia/Ho_Chi_Minh"),
    )
    shown = json.dumps(svc.status(), ensure_ascii=False)
    assert not any(s in shown for s in secrets), shown
    assert "mailtos://trucban:****@" in shown or "****" in shown


@pytest.fixture(scope="module")
def paging_service(
    lab: Lab,
    smtp: SmtpSink,
    peers: HttpPeers,  # noqa: F811
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[str]:
    """A running Trucban (its own HTTP port) with routes paging commune posts by SMS, then e-mail."""
    data = tmp_path_factory.mktemp("notify-data")
    routes = data / "routes.yaml"
    routes.write_text(
        yaml.safe_dump(
            {
                "channels": channels(smtp, peers),
                "commune_channels": ["sms", "email"],
                "timers": {"group_wait_s": 2, "group_interval_s": 5, "repeat_interval_s": 3600},
                "posts": {
                    "noc": {
                        "name": "NOC",
                        "contacts": [{"name": "NOC", "email": "noc@lab.invalid"}],
                        "channels": ["email"],
                    },
                    "coordinators": {  # an escalation level: every post routes reach needs a channel
                        "name": "Điều phối",
                        "contacts": [{"name": "ĐP", "email": "dp@lab.invalid"}],
                        "channels": ["email"],
                    },
                },
            },
            allow_unicode=True,
        ),
        encoding="utf-8",
    )
    load_notify_config(routes)  # a broken file fails here, with file/line
    settings = load_settings(
        env={},
        data_dir=data,
        http_port=free_tcp_port(),
        poll_interval_s=2.0,
        trap_port=0,
        notify_routes=routes,
    )
    service = build_service(settings, lab.inventory)
    server = uvicorn.Server(
        uvicorn.Config(service.app(), host="127.0.0.1", port=settings.http_port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "Trucban did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{settings.http_port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)


def test_dead_commune_router_pages_its_post_then_recovers(
    lab: Lab,
    paging_service: str,  # noqa: F811
    peers: HttpPeers,
    smtp: SmtpSink,
) -> None:
    peers.clear()
    code = lab.inventory.watched_communes[1]
    router = f"c{code}-r1"
    phone = next(c.phone for c in lab.inventory.communes[code].contacts if c.phone)
    time.sleep(5)  # a couple of healthy cycles first
    cut(lab.layout.state_dir, lab.inventory, router)
    try:
        down = wait_for(lambda: [r for r in peers.of("sms") if r["body"]["to"] == phone], timeout=40)
    finally:
        restore(lab.layout.state_dir, lab.inventory, router)
    text = down[0]["body"]["text"]
    assert "Mất kết nối" in text and "XN " in text, text
    up = wait_for(
        lambda: [r for r in peers.of("sms") if r["body"]["to"] == phone and "PHỤC HỒI" in r["body"]["text"]],
        timeout=40,
    )
    assert len(up) == 1
    texts = [r["body"]["text"] for r in peers.of("sms") if r["body"]["to"] == phone]
    assert not any(f"Mất kết nối: {child}" in t for t in texts for child in ("Switch", "BTS", "Nguồn"))
