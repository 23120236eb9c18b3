"""Messages people can act on, in Vietnamese: what, where, since when, why, what it affects,
the runbook, and how to acknowledge. A short variant fits one or two SMS segments; e-mail is rich.

Rendering works on *snapshots* (plain dicts taken from incidents when they
were queued), so a message can be rebuilt after a restart without the core.
The cause is translated when the snapshot is taken (:mod:`alerting.notify.causes`:
Vietnamese phrases, device names instead of ids). Links are absolute and shown
as text in every variant: the e-mail's text/plain part is made from the HTML,
so a mail client showing only plain text still has the runbook and the
acknowledgement link.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from alerting.incidents import SEVERITY_VI, Incident, IncidentKind, Severity
from alerting.notify.causes import cause_vi
from common.timefmt import local_time
from inventory.inventory import Inventory

SEVERITY_TAG = {
    Severity.INFO: "TIN",
    Severity.WARNING: "CẢNH BÁO",
    Severity.MAJOR: "NGHIÊM TRỌNG",
    Severity.CRITICAL: "KHẨN",
}
CHANGE_VI = {
    "new": "Sự cố mới",
    "worse": "Nặng hơn",
    "better": "Giảm mức",
    "scope": "Phạm vi thay đổi",
    "recovered": "ĐÃ PHỤC HỒI",
    "escalated": "Chuyển cấp (chưa ai xác nhận)",
    "reminder": "Nhắc lại (vẫn đang xảy ra)",
    "transient": "Đã xảy ra và đã tự phục hồi",
}
GSM7 = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    "ÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà^{}\\[~]|€"
)
SMS_MAX_SEGMENTS = 2
DONE = ("recovered", "transient")


@dataclass(frozen=True, slots=True)
class Rendered:
    """One notification in every variant a channel may want."""

    subject: str
    short: str  # SMS / ZNS: ≤ 2 segments
    text: str  # chat (Zalo, Telegram) and the e-mail's plain part
    html: str  # rich e-mail


@dataclass(frozen=True, slots=True)
class Links:
    """Where people click: runbooks and acknowledgements."""

    base_url: str
    timezone: ZoneInfo

    def runbook(self, snap: dict[str, Any]) -> str:
        """Absolute runbook link (runbooks/<kind>.md), filled with this incident's values when opened."""
        return f"{self.base_url.rstrip('/')}/{snap['runbook']}?incident={snap['id']}"

    def incident(self, incident_id: int) -> str:
        """The incident page, where it can be acknowledged."""
        return f"{self.base_url.rstrip('/')}/incidents/{incident_id}"

    def local(self, ts: int | None) -> str:
        """'14:05 12/09/2026' in local time."""
        if not ts:
            return "—"
        return local_time(ts, self.timezone)

    def short_time(self, ts: int | None) -> str:
        """'14:05 12/9' for SMS."""
        if not ts:
            return "—"
        t = datetime.fromtimestamp(ts, self.timezone)
        return f"{t:%H:%M} {t.day}/{t.month}"


def snapshot(incident: Incident, inventory: Inventory) -> dict[str, Any]:
    """What a message needs about an incident, as plain JSON-able data."""
    site = inventory.sites.get(incident.site or "")
    ref = inventory.reference.communes.get(incident.commune or "")
    communes = [
        inventory.reference.communes[c].name
        for c in incident.details.get("communes", ())
        if c in inventory.reference.communes
    ]
    return {
        "id": incident.id,
        "key": incident.key,
        "kind": incident.kind.value,
        "severity": int(incident.severity),
        "status": incident.status.value,
        "title": incident.title,
        "why": cause_vi(incident.why, inventory, incident.device),
        "runbook": incident.runbook,
        "commune": incident.commune,
        "commune_name": ref.name if ref else None,
        "site": incident.site,
        "site_name": site.name if site else None,
        "device": incident.device,
        "opened_at": incident.opened_at,
        "resolved_at": incident.resolved_at,
        "affected": len(incident.affected),
        "communes": communes,
        "minutes_left": incident.details.get("minutes_left"),
    }


def affects(snap: dict[str, Any]) -> str:
    """What the incident affects, in one Vietnamese sentence."""
    kind = snap["kind"]
    if kind == IncidentKind.BTS_ON_BATTERY and snap.get("minutes_left") is not None:
        return f"trạm BTS đang chạy ắc quy, còn khoảng {round(snap['minutes_left'])} phút"
    if kind == IncidentKind.COMMUNES_CUT_OFF:
        return f"{len(snap['communes'])} xã/phường mất kết nối: {_names(snap['communes'])}"
    if kind == IncidentKind.COMMUNE_ISOLATED:
        return "mất cả đường truyền chính và dự phòng; trụ sở và trạm BTS không liên lạc được"
    if kind == IncidentKind.LINK_ON_BACKUP:
        return "đang chạy trên đường truyền dự phòng"
    if snap.get("affected"):
        text = f"{snap['affected']} thiết bị phía sau không liên lạc được"
        return text + (f" (xã/phường: {_names(snap['communes'])})" if snap.get("communes") else "")
    return "chỉ thiết bị này"


def _names(names: list[str], limit: int = 5) -> str:
    more = f" và {len(names) - limit} nơi khác" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more


def battery_summary(snaps: list[dict[str, Any]]) -> str | None:
    """'3 trạm BTS của Xã X đang chạy ắc quy, còn khoảng 40 phút' for a group."""
    on_battery = [s for s in snaps if s["kind"] == IncidentKind.BTS_ON_BATTERY and s["status"] != "resolved"]
    if not on_battery:
        return None
    where = on_battery[0].get("commune_name") or "khu vực"
    if len({s.get("commune") for s in on_battery}) > 1:
        where = f"{len({s.get('commune') for s in on_battery})} xã/phường"
    left = [s["minutes_left"] for s in on_battery if s.get("minutes_left") is not None]
    tail = f", sớm nhất còn khoảng {round(min(left))} phút" if left else ""
    return f"{len(on_battery)} trạm BTS của {where} đang chạy ắc quy{tail}"


def sms_segments(text: str) -> int:
    """SMS segments the text needs (GSM-7: 160/153, otherwise UCS-2: 70/67)."""
    gsm = all(ch in GSM7 for ch in text)
    single, multi = (160, 153) if gsm else (70, 67)
    if len(text) <= single:
        return 1
    return -(-len(text) // multi)


def fit_sms(head: str, title: str, tail: str, segments: int = SMS_MAX_SEGMENTS) -> str:
    """``head + title + tail``, the title shortened with '…' until it fits ``segments``."""
    text = head + title + tail
    while sms_segments(text) > segments and title:
        title = title[:-2].rstrip() + "…" if len(title) > 2 else ""
        text = head + title + tail
    return text


def render_group(
    post_name: str, items: list[tuple[str, dict[str, Any]]], still_active: int, links: Links
) -> Rendered:
    """One message for a post: what changed since the last one, and what is still going on."""
    recovered = [s for c, s in items if c in DONE]
    firing = [(c, s) for c, s in items if c not in DONE]
    worst = max((Severity(s["severity"]) for _, s in firing), default=Severity.INFO)
    tag = "PHỤC HỒI" if not firing else SEVERITY_TAG[worst]
    parts = []
    if firing:
        parts.append(f"{len(firing)} sự cố")
    if recovered:
        parts.append(f"{len(recovered)} đã phục hồi")
    subject = f"[{tag}] {post_name}: {', '.join(parts)}"
    lead_change, lead = (firing or [("recovered", recovered[0])])[0] if items else ("new", {})
    if len(items) == 1:
        verb = "ĐÃ PHỤC HỒI: " if lead_change in DONE else ""
        when = links.short_time(lead.get("resolved_at") if lead_change in DONE else lead["opened_at"])
        ack = "" if lead_change in DONE else f" Trả lời XN {lead['id']} để xác nhận."
        short = fit_sms(f"[{tag}] {verb}", lead["title"], f" (từ {when}).{ack} {links.incident(lead['id'])}")
    else:
        head = f"[{tag}] " + ", ".join(parts) + ". "
        left = f"Còn {still_active} sự cố" if still_active else "Hết sự cố"
        short = fit_sms(
            head, lead["title"] if firing else post_name, f". {left}. {links.base_url.rstrip('/')}/incidents"
        )
    summary = battery_summary([s for _, s in items])
    text_lines = [subject, ""]
    if summary:
        text_lines += [f"Ảnh hưởng chung: {summary}.", ""]
    for change, snap in items:
        text_lines += _text_item(change, snap, links) + [""]
    text_lines.append(f"Tổng số sự cố đang xảy ra tại {post_name}: {still_active}.")
    text = "\n".join(text_lines)
    return Rendered(subject, short, text, _html(subject, summary, items, still_active, post_name, links))


def _text_item(change: str, snap: dict[str, Any], links: Links) -> list[str]:
    where = ", ".join(x for x in (snap.get("site_name"), snap.get("commune_name")) if x)
    lines = [
        f"• {CHANGE_VI[change]} [{SEVERITY_VI[Severity(snap['severity'])]}] {snap['title']}",
        f"  Nơi: {where or '—'}",
        f"  Từ lúc: {links.local(snap['opened_at'])}",
    ]
    if change in DONE:
        lines.append(f"  Phục hồi lúc: {links.local(snap.get('resolved_at'))}")
    lines += [
        f"  Nguyên nhân: {snap['why']}",
        f"  Ảnh hưởng: {affects(snap)}",
        f"  Hướng dẫn xử lý: {links.runbook(snap)}",
    ]
    if change not in DONE:
        lines.append(f"  Xác nhận: trả lời «XN {snap['id']}» hoặc mở {links.incident(snap['id'])}")
    return lines


def _html(
    subject: str,
    summary: str | None,
    items: list[tuple[str, dict[str, Any]]],
    still_active: int,
    post_name: str,
    links: Links,
) -> str:
    e = html.escape
    rows = []
    for change, s in items:
        where = ", ".join(x for x in (s.get("site_name"), s.get("commune_name")) if x) or "—"
        ack = (
            ""
            if change in DONE
            else (
                f"<br>Xác nhận: trả lời <b>XN {s['id']}</b> hoặc mở {_link(links.incident(s['id']))}"
            )
        )
        recovered = f"<br>Phục hồi lúc: {e(links.local(s.get('resolved_at')))}" if change in DONE else ""
        rows.append(
            f"<tr><td><b>{e(CHANGE_VI[change])}</b><br>{e(SEVERITY_VI[Severity(s['severity'])])}</td>"
            f"<td><b>{e(s['title'])}</b><br>Nơi: {e(where)}<br>Từ lúc: {e(links.local(s['opened_at']))}"
            f"{recovered}<br>Nguyên nhân: {e(s['why'])}<br>Ảnh hưởng: {e(affects(s))}"
            f"<br>Hướng dẫn xử lý: {_link(links.runbook(s))}{ack}</td></tr>"
        )
    head = f"<p><b>Ảnh hưởng chung:</b> {e(summary)}</p>" if summary else ""
    return (
        f'<html><body><h2>{e(subject)}</h2>{head}<table border="1" cellpadding="4">'
        f"{''.join(rows)}</table><p>Tổng số sự cố đang xảy ra tại {e(post_name)}: {still_active}. "
        f"Giờ Việt Nam (Asia/Ho_Chi_Minh).</p></body></html>"
    )


def _link(url: str) -> str:
    """An anchor whose text is the absolute URL itself (it survives the HTML → plain text conversion)."""
    return f'<a href="{html.escape(url)}">{html.escape(url)}</a>'


def render_plain(subject: str, body: str) -> Rendered:
    """A digest/report: the short variant is the first line, trimmed to two segments."""
    first = body.split("\n", 1)[0]
    short = fit_sms("", first, "")
    paragraphs = "".join(f"<p>{html.escape(p).replace(chr(10), '<br>')}</p>" for p in body.split("\n\n"))
    return Rendered(
        subject,
        short,
        f"{subject}\n\n{body}",
        f"<html><body><h2>{html.escape(subject)}</h2>{paragraphs}</body></html>",
    )
