"""Filling a runbook with an incident's own values: commune, device, since when, battery, contacts.

:func:`render_runbook` gives ``(title, markdown)``; :func:`render_runbook_html`
gives ``(title, html)`` (raw HTML in the Markdown is escaped, never passed
through). Values come from the incident and the inventory; nothing secret is
read (credentials are never touched).
"""

from __future__ import annotations

import html
import time
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Undefined
from jinja2.sandbox import SandboxedEnvironment
from markdown_it import MarkdownIt

from alerting.incidents import SEVERITY_VI, Incident
from common.timefmt import duration_vi
from common.timefmt import local_time as format_time
from common.vocab import MEDIUM_VI
from inventory.inventory import Inventory
from inventory.model import Contact, SiteKind
from runbooks.catalog import Catalog, load_catalog

UNKNOWN = "(chưa rõ)"
_default_catalog: Catalog | None = None


def _cell_safe(value: object) -> str:
    """A value as Markdown table text: a '|' in inventory or incident text would split a cell."""
    return ("" if value is None else str(value)).replace("|", "\\|")


class _Unknown(Undefined):
    """A placeholder the incident has no value for reads "(chưa rõ)", never an error or a blank."""

    def __str__(self) -> str:
        return UNKNOWN


# Runbooks are data written by people: sandboxed, no HTML escaping (the output is Markdown, turned
# into safe HTML by markdown-it with raw HTML off), every value made table-safe.
_TEMPLATES = SandboxedEnvironment(undefined=_Unknown, finalize=_cell_safe, autoescape=False,
                                  keep_trailing_newline=True)


def _catalog() -> Catalog:
    global _default_catalog
    if _default_catalog is None:
        _default_catalog = load_catalog()
    return _default_catalog


def render_runbook(kind: str, incident: Incident | None, inventory: Inventory | None, tz: ZoneInfo,
                   *, catalog: Catalog | None = None, now: int | None = None) -> tuple[str, str]:
    """``(title, markdown)`` of the runbook for ``kind`` with the incident's values filled in.

    ``incident`` may be None (a procedure, or a runbook read on its own): the
    placeholders then become "(chưa rõ)" and the contacts list says so.
    """
    book = (catalog or _catalog()).get(str(kind))
    values = runbook_values(incident, inventory, tz, now=now)
    body = _TEMPLATES.from_string(book.body).render(values)
    title = book.meta.title
    where = values.get("commune") if incident is not None and incident.commune else None
    if where:
        title = f"{title} — {where}"
    return title, body


def render_runbook_html(kind: str, incident: Incident | None, inventory: Inventory | None, tz: ZoneInfo,
                        *, catalog: Catalog | None = None, now: int | None = None) -> tuple[str, str]:
    """``(title, html)``: as :func:`render_runbook`, the Markdown turned into safe HTML."""
    title, markdown = render_runbook(kind, incident, inventory, tz, catalog=catalog, now=now)
    md = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")
    return html.escape(title), md.render(markdown)


def runbook_values(incident: Incident | None, inventory: Inventory | None, tz: ZoneInfo,
                   *, now: int | None = None) -> dict[str, str]:
    """Every placeholder's text for one incident (Vietnamese, local time)."""
    v: dict[str, str] = {"noc_contacts": _contacts(_noc_contacts(inventory)) if inventory else
                         "- (chưa khai báo NOC trong inventory)"}
    if incident is None:
        v["contacts"] = "- (mở từ một sự cố để thấy danh bạ của xã)"
        return v
    now = int(time.time()) if now is None else now
    v.update(title=incident.title, why=incident.why, severity=SEVERITY_VI[incident.severity],
             incident_id=str(incident.id), since=local_time(incident.opened_at, tz),
             duration=duration_vi(now - incident.opened_at))
    details = incident.details or {}
    if details.get("minutes_left") is not None:
        v["minutes_left"] = f"{round(float(details['minutes_left']))} phút"
    if details.get("charge_pct") is not None:
        v["charge_pct"] = f"{details['charge_pct']}%"
    if details.get("medium"):
        v["medium"] = MEDIUM_VI.get(str(details["medium"]), str(details["medium"]))
    if inventory is None:
        v.update({k: str(getattr(incident, k)) for k in ("commune", "site", "device")
                  if getattr(incident, k)})
        v["contacts"] = "- (không có inventory)"
        return v
    v.update(_where(incident, inventory))
    v["affected"] = _affected(incident, inventory)
    return v


def _where(incident: Incident, inventory: Inventory) -> dict[str, str]:
    v: dict[str, str] = {}
    commune = incident.commune
    if commune:
        ref = inventory.reference.communes.get(commune)
        v["commune"] = ref.name if ref else commune
        v["commune_code"] = commune
        entry = inventory.communes.get(commune)
        v["command_post"] = entry.command_post if entry and entry.command_post else UNKNOWN
        v["contacts"] = _contacts(entry.contacts if entry else ())
    else:
        v["contacts"] = "- (sự cố không thuộc xã nào: gọi NOC)\n" + _contacts(_noc_contacts(inventory))
    site = inventory.sites.get(incident.site or "")
    if site is not None:
        v["site"] = site.name
    dev = inventory.devices.get(incident.device or "")
    if dev is not None:
        v["device"] = f"{dev.name} ({dev.id})"
        v["address"] = str(dev.address)
        if dev.operator:
            v["operator"] = dev.operator
        if dev.hardening_level is not None:
            v["hardening"] = f"cấp {dev.hardening_level}"
        parents = [inventory.devices[p] for p in dev.parents if p in inventory.devices]
        v["parent"] = ", ".join(f"{p.name} ({p.id})" for p in parents) or "(không có: thiết bị gốc)"
    return v


def _affected(incident: Incident, inventory: Inventory) -> str:
    if not incident.affected:
        return "không có"
    names: list[str] = []
    for item in incident.affected[:10]:
        dev = inventory.devices.get(item)
        ref = inventory.reference.communes.get(item)
        names.append(f"{dev.name} ({item})" if dev else ref.name if ref else item)
    more = f" và {len(incident.affected) - 10} mục khác" if len(incident.affected) > 10 else ""
    return ", ".join(names) + more


def _noc_contacts(inventory: Inventory) -> list[Contact]:
    codes = {s.commune for s in inventory.sites.values() if s.kind is SiteKind.NOC}
    return [c for code in sorted(codes) for c in (inventory.communes[code].contacts
                                                   if code in inventory.communes else ())]


def _contacts(contacts: Any) -> str:
    """A Markdown list: name (role) — phone — e-mail — Zalo."""
    lines = []
    for c in contacts:
        parts = [c.name + (f" ({c.role})" if c.role else "")]
        parts += [f"☎ {c.phone}"] if c.phone else []
        parts += [c.email] if c.email else []
        parts += [f"Zalo {c.zalo}"] if c.zalo else []
        lines.append("- " + " — ".join(parts))
    return "\n".join(lines) or "- (chưa có danh bạ trong inventory: bổ sung `contacts` cho xã này)"


def local_time(ts: int | None, tz: ZoneInfo) -> str:
    """'14:05 ngày 12/09/2026 (giờ Việt Nam)' for an epoch-seconds UTC instant."""
    if not ts:
        return UNKNOWN
    zone = "giờ Việt Nam" if tz.key == "Asia/Ho_Chi_Minh" else tz.key
    return f"{format_time(ts, tz, 'time')} ngày {format_time(ts, tz, 'date')} ({zone})"
