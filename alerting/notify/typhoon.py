"""Typhoon mode: a coordinator declares a storm for communes (or a province) and a time window.

While it is active: polling tightens (``poll_interval``, read by the service),
battery thresholds shift earlier (``battery_shift``, read by evaluation through
:mod:`alerting.rules.thresholds`), coordinators get a digest
every N minutes; at declaration a readiness report goes out, and ending the
storm (by hand, or when the window closes) sends a recovery summary.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, insert, select, update

from alerting.incidents import Incident, IncidentKind
from alerting.notify.config import TyphoonSettings
from alerting.notify.messages import render_plain
from alerting.notify.notifier import Notifier
from alerting.notify.readiness import NetworkView, readiness, readiness_text
from alerting.notify.tables import typhoon_declarations

log = logging.getLogger(__name__)


class TyphoonError(ValueError):
    """A declaration that cannot be accepted (unknown commune, empty window, one already active)."""


@dataclass(frozen=True, slots=True)
class Declaration:
    """A declared storm."""

    id: int
    name: str
    communes: tuple[str, ...]
    province: str | None
    starts_at: int
    ends_at: int
    declared_by: str
    declared_at: int
    ended_at: int | None
    digest_every_s: int
    readiness: dict[str, Any] = field(default_factory=dict)
    summary: dict[str, Any] | None = None

    def active(self, now: int) -> bool:
        """Inside its window and not ended."""
        return self.ended_at is None and self.starts_at <= now < self.ends_at

    def as_dict(self) -> dict[str, Any]:
        """JSON-able form for the API."""
        return {k: getattr(self, k) for k in self.__slots__}  # type: ignore[attr-defined]


class TyphoonMode:
    """Declarations in the database, and what they change while active."""

    def __init__(
        self, notifier: Notifier, settings: TyphoonSettings, view: Callable[[], NetworkView] | None = None
    ) -> None:
        self.notifier = notifier
        self.engine = notifier.engine
        self.incidents = notifier.repo
        self.inventory = notifier.inventory
        self.settings = settings
        self.view = view
        self.listeners: list[Callable[[Declaration | None], None]] = []
        self._seen: tuple[int, bool] | None = None  # (declaration id, active) last told to listeners

    def declare(
        self,
        name: str,
        *,
        communes: list[str] | None = None,
        province: str | None = None,
        starts_at: int,
        ends_at: int,
        by: str,
        now: int,
        digest_every_s: int | None = None,
    ) -> Declaration:
        """Declare a storm; sends the readiness report to the typhoon posts."""
        codes = self._scope(communes, province)
        if ends_at <= starts_at:
            raise TyphoonError(f"typhoon window: ends_at {ends_at} is not after starts_at {starts_at}")
        if self.current(now) is not None:
            raise TyphoonError("a typhoon is already declared; end it first")
        report = readiness(self.inventory, self.view(), codes) if self.view else None
        with self.engine.begin() as conn:
            new_id = conn.execute(  # type: ignore[index]
                insert(typhoon_declarations).values(
                    name=name,
                    communes=codes,
                    province=province,
                    starts_at=starts_at,
                    ends_at=ends_at,
                    declared_by=by,
                    declared_at=now,
                    ended_at=None,
                    digest_every_s=digest_every_s or self.settings.digest_every_s,
                    readiness=report.as_dict() if report else {},
                    summary=None,
                )
            ).inserted_primary_key[0]
            if report is not None:
                subject, body = readiness_text(self.inventory, report, name)
                for post in self.settings.notify:
                    self.notifier.enqueue(
                        conn,
                        post,
                        f"typhoon:{new_id}:readiness",
                        "readiness",
                        render_plain(subject, body),
                        now,
                    )
        decl = self.get(int(new_id))
        log.warning("typhoon %s declared by %s for %d communes", name, by, len(codes))
        self._changed(decl)
        return decl

    def _scope(self, communes: list[str] | None, province: str | None) -> list[str]:
        watched = set(self.inventory.watched_communes)
        if province:
            codes = sorted(
                c
                for c in watched
                if c in self.inventory.reference.communes
                and self.inventory.reference.communes[c].province_code == province
            )
            if not codes:
                raise TyphoonError(f"province {province!r}: no watched commune")
            return codes
        unknown = [c for c in communes or () if c not in watched]
        if unknown or not communes:
            raise TyphoonError(f"communes: unknown or none given: {unknown or communes!r}")
        return sorted(set(communes))

    def get(self, declaration_id: int) -> Declaration:
        """One declaration."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(typhoon_declarations).where(typhoon_declarations.c.id == declaration_id)
            ).first()
        if row is None:
            raise TyphoonError(f"typhoon declaration {declaration_id} does not exist")
        return _declaration(row)

    def current(self, now: int) -> Declaration | None:
        """The declaration not yet ended whose window has not closed (active or upcoming)."""
        c = typhoon_declarations.c
        with self.engine.connect() as conn:
            row = conn.execute(
                select(typhoon_declarations)
                .where(and_(c.ended_at.is_(None), c.ends_at > now))
                .order_by(c.id.desc())
            ).first()
        return _declaration(row) if row else None

    def active(self, now: int) -> Declaration | None:
        """The declaration in force right now."""
        decl = self.current(now)
        return decl if decl is not None and decl.active(now) else None

    def history(self, limit: int = 20) -> list[Declaration]:
        """Recent declarations, newest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(typhoon_declarations).order_by(typhoon_declarations.c.id.desc()).limit(limit)
            )
            return [_declaration(r) for r in rows]

    def end(self, *, by: str, now: int, declaration_id: int | None = None) -> Declaration:
        """End the storm; sends the recovery summary."""
        c = typhoon_declarations.c
        with self.engine.connect() as conn:
            query = select(typhoon_declarations).where(c.ended_at.is_(None))
            if declaration_id is not None:
                query = query.where(c.id == declaration_id)
            row = conn.execute(query.order_by(c.id.desc())).first()
        if row is None:
            raise TyphoonError("no typhoon declaration to end")
        decl = _declaration(row)
        summary = self.summary(decl, now)
        with self.engine.begin() as conn:
            conn.execute(
                update(typhoon_declarations).where(c.id == decl.id).values(ended_at=now, summary=summary)
            )
            body = summary["text"] + f"\nKết thúc bởi: {by}."
            for post in self.settings.notify:
                self.notifier.enqueue(
                    conn,
                    post,
                    f"typhoon:{decl.id}:summary",
                    "summary",
                    render_plain(f"[BÃO {decl.name}] Tổng kết phục hồi", body),
                    now,
                )
        ended = self.get(decl.id)
        self._changed(None)
        return ended

    def summary(self, decl: Declaration, now: int) -> dict[str, Any]:
        """What happened in the window: incidents opened/resolved/open, isolated communes, longest outage."""
        scope = set(decl.communes)
        rows = self.incidents.overlapping(decl.starts_at, now)
        mine = [r for r in rows if r.commune in scope or set(r.details.get("communes", ())) & scope]
        isolated = sorted({code for r in mine for code in _isolated(r) if code in scope})
        still = [r for r in mine if r.resolved_at is None]
        longest = (
            max((((r.resolved_at or now) - max(r.opened_at, decl.starts_at)), r.title) for r in mine)
            if mine
            else (0, "")
        )
        text = (
            f"Bão {decl.name}: {len(mine)} sự cố trong {len(scope)} xã/phường; {len(mine) - len(still)} đã "
            f"phục hồi, {len(still)} còn mở. {len(isolated)} xã từng bị cô lập. Sự cố dài nhất: "
            f"{longest[1] or '—'} ({round(longest[0] / 60)} phút)."
        )
        if still:
            text += "\nCòn mở: " + "; ".join(f"#{r.id} {r.title}" for r in still[:15])
        return {
            "incidents": len(mine),
            "resolved": len(mine) - len(still),
            "open": len(still),
            "isolated_communes": isolated,
            "longest_s": int(longest[0]),
            "text": text,
        }

    def watch(self, now: int) -> None:
        """Tell listeners when a storm starts or stops (also one declared by another process, the CLI)."""
        decl = self.active(now)
        seen = (decl.id, True) if decl else (0, False)
        if seen != self._seen:
            self._seen = seen
            self._changed(decl)

    def tick(self, now: int) -> int:
        """Digests while active; end automatically when the window closes."""
        self.watch(now)
        c = typhoon_declarations.c
        with self.engine.connect() as conn:
            row = conn.execute(
                select(typhoon_declarations).where(c.ended_at.is_(None)).order_by(c.id.desc())
            ).first()
        if row is None:
            return 0
        decl = _declaration(row)
        if now >= decl.ends_at:
            self.end(by="hết thời hạn", now=now, declaration_id=decl.id)
            return 1
        if not decl.active(now):
            return 0
        added = 0
        with self.engine.begin() as conn:
            if self.notifier._timer_due(conn, f"typhoon:{decl.id}:digest", now, decl.digest_every_s):
                for post in self.settings.notify:
                    added += self.notifier.digest(
                        conn,
                        post,
                        now,
                        list(decl.communes),
                        f"Bão {decl.name}",
                        key=f"typhoon:{decl.id}:digest:{post}:{now}",
                    )
        return added

    def poll_interval(self, now: int) -> float | None:
        """Tighter poll interval while a storm is active (the hook the service/poller reads)."""
        return self.settings.poll_interval_s if self.active(now) else None

    def battery_shift(self, now: int) -> float:
        """Minutes battery warnings come earlier at ``now``: ``battery_shift_minutes`` while a storm is
        active, else 0 (evaluation asks this through :mod:`alerting.rules.thresholds`)."""
        if not self.settings.battery_shift_minutes or self.active(now) is None:
            return 0.0
        return float(self.settings.battery_shift_minutes)

    def _changed(self, decl: Declaration | None) -> None:
        self._seen = (decl.id, True) if decl is not None and decl.active(decl.declared_at) else self._seen
        for listener in self.listeners:
            try:
                listener(decl)
            except Exception:  # a listener (poll tightening) must not undo the declaration
                log.exception("typhoon listener failed")


def _isolated(inc: Incident) -> list[str]:
    if inc.kind is IncidentKind.COMMUNES_CUT_OFF:
        return list(inc.details.get("communes", ()))
    if inc.kind is IncidentKind.COMMUNE_ISOLATED and inc.commune:
        return [inc.commune]
    return []


def _declaration(r: Any) -> Declaration:
    return Declaration(
        r.id,
        r.name,
        tuple(r.communes or ()),
        r.province,
        r.starts_at,
        r.ends_at,
        r.declared_by,
        r.declared_at,
        r.ended_at,
        r.digest_every_s,
        dict(r.readiness or {}),
        dict(r.summary) if r.summary else None,
    )
