"""Digests for coordinators: how many communes are up, on backup, on battery, isolated — from incidents."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from alerting.incidents import SEVERITY_VI, Incident, IncidentKind, Severity
from inventory.inventory import Inventory

STATE_VI = {
    "up": "hoạt động bình thường",
    "backup": "đang chạy đường dự phòng",
    "battery": "có trạm BTS chạy ắc quy",
    "isolated": "bị cô lập / mất kết nối",
}
ORDER = ("isolated", "battery", "backup", "up")


@dataclass
class CommunePicture:
    """Each watched commune's worst state, derived from active incidents only."""

    states: dict[str, str] = field(default_factory=dict)
    minutes_left: dict[str, float] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        """Communes per state (every state present, zero included)."""
        c = Counter(self.states.values())
        return {s: c.get(s, 0) for s in ORDER}


def commune_picture(
    inventory: Inventory, active: Iterable[Incident], communes: Iterable[str] | None = None
) -> CommunePicture:
    """Classify communes: isolated > on battery > on backup > up."""
    wanted = list(communes) if communes is not None else inventory.watched_communes
    rank = {s: i for i, s in enumerate(ORDER)}
    pic = CommunePicture({c: "up" for c in wanted})

    def mark(code: str | None, state: str) -> None:
        if code in pic.states and rank[state] < rank[pic.states[code]]:
            pic.states[code] = state

    for inc in active:
        if inc.kind is IncidentKind.COMMUNES_CUT_OFF:
            for code in inc.details.get("communes", ()):
                mark(code, "isolated")
        elif inc.kind is IncidentKind.COMMUNE_ISOLATED:
            mark(inc.commune, "isolated")
        elif inc.kind is IncidentKind.DEVICE_DOWN and inc.details.get("role") == "router" and inc.commune:
            site = inventory.sites.get(inc.site or "")
            if site is not None and site.kind.value == "commune_hq":
                mark(inc.commune, "isolated")
        elif inc.kind in (IncidentKind.BTS_ON_BATTERY, IncidentKind.BATTERY_LOW):
            mark(inc.commune, "battery")
            left = inc.details.get("minutes_left")
            if inc.commune and isinstance(left, int | float):
                pic.minutes_left[inc.commune] = min(left, pic.minutes_left.get(inc.commune, left))
        elif inc.kind is IncidentKind.LINK_ON_BACKUP:
            mark(inc.commune, "backup")
    return pic


def digest_text(
    inventory: Inventory,
    active: list[Incident],
    communes: Iterable[str] | None = None,
    title: str = "Tổng hợp tình hình",
) -> tuple[str, str]:
    """(subject, body) of a digest in Vietnamese."""
    pic = commune_picture(inventory, active, communes)
    counts = pic.counts()
    total = len(pic.states)
    first = (
        f"{title}: {total} xã/phường — {counts['up']} bình thường, {counts['backup']} dự phòng, "
        f"{counts['battery']} chạy ắc quy, {counts['isolated']} cô lập."
    )
    lines = [first, ""]
    for state in ("isolated", "battery", "backup"):
        names = [_name(inventory, c) for c, s in pic.states.items() if s == state]
        if names:
            lines.append(
                f"{STATE_VI[state].capitalize()} ({len(names)}): {', '.join(names[:30])}"
                + (" …" if len(names) > 30 else "")
            )
    if pic.minutes_left:
        worst = sorted(pic.minutes_left.items(), key=lambda kv: kv[1])[:5]
        lines.append(
            "Ắc quy sắp cạn: " + ", ".join(f"{_name(inventory, c)} (~{round(m)} phút)" for c, m in worst)
        )
    severe = sorted((i for i in active if i.severity >= Severity.MAJOR), key=lambda i: -i.severity)[:10]
    if severe:
        lines += ["", "Sự cố nghiêm trọng đang mở:"]
        lines += [
            f"- [{SEVERITY_VI[i.severity]}] #{i.id} {i.title}" + (" (đã xác nhận)" if i.acked_by else "")
            for i in severe
        ]
    subject = (
        f"[TỔNG HỢP] {counts['isolated']} cô lập, {counts['battery']} chạy ắc quy, "
        f"{counts['backup']} dự phòng / {total} xã"
    )
    return subject, "\n".join(lines)


def _name(inventory: Inventory, code: str) -> str:
    ref = inventory.reference.communes.get(code)
    return ref.name if ref else code
