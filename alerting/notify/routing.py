"""Routing as data: which command post hears about an incident, and through which channels.

Commune incidents go to that commune's command post (contacts from the
inventory), city-level incidents (core/aggregation routers, DNS, the data
centre) to the NOC on-call; severity and local time of day pick the route.
Posts are ids: ``commune:<code>`` for a commune's post, or a name from the
routes file (``noc``, ``coordinators``, …).

``delivery_failing`` (Trucban cannot deliver through some channel) never relies
on the failing channel: chains carrying that news try the failing channels
last, and when no routed post can be reached another way the news goes to the
next post that can (escalation levels first, then the other named posts).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from alerting.incidents import Incident, IncidentKind
from alerting.notify.config import NotifyConfig, Route, severity
from inventory.inventory import Inventory
from inventory.model import Contact, SiteKind

COMMUNE_SITES = (SiteKind.COMMUNE_HQ, SiteKind.BTS_SITE)
POST_NAMES_VI = {"noc": "Trực ban NOC thành phố", "coordinators": "Ban chỉ huy điều phối thành phố"}


@dataclass(frozen=True, slots=True)
class Delivery:
    """One contact of a post and the channel chain to reach them (fallback order)."""

    contact: str
    chain: tuple[tuple[str, str], ...]  # (channel name, target address)


class Router:
    """Applies the routes to incidents and resolves posts to contacts and channel chains."""

    def __init__(self, inventory: Inventory, config: NotifyConfig, timezone: ZoneInfo) -> None:
        self.inventory = inventory
        self.config = config
        self.timezone = timezone

    def scope(self, incident: Incident) -> str:
        """'commune' for incidents at a commune's HQ/BTS site, 'city' otherwise."""
        if incident.kind in (IncidentKind.COMMUNE_ISOLATED, IncidentKind.LINK_ON_BACKUP):
            return "commune" if incident.commune else "city"
        site = self.inventory.sites.get(incident.site or "")
        if site is not None and site.kind in COMMUNE_SITES:
            return "commune"
        return "city"

    def posts_for(self, incident: Incident, now: int) -> list[str]:
        """Posts an incident is routed to (first matching route, more with ``continue: true``)."""
        out: list[str] = []
        for route in self.config.routes:
            if not self._matches(route, incident, now):
                continue
            for target in route.to:
                post = self._resolve(target, incident)
                if post and post not in out:
                    out.append(post)
            if not route.continue_:
                break
        return out

    def _resolve(self, target: str, incident: Incident) -> str | None:
        if target == "commune":
            return f"commune:{incident.commune}" if incident.commune else None
        return target

    def _matches(self, route: Route, incident: Incident, now: int) -> bool:
        m = route.match
        if m.scope and self.scope(incident) != m.scope:
            return False
        if m.kinds and incident.kind not in m.kinds:
            return False
        if not severity(m.min_severity) <= incident.severity <= severity(m.max_severity):
            return False
        if m.communes and incident.commune not in m.communes:
            return False
        return not (m.hours and not in_window(m.hours, now, self.timezone))

    def escalation_chain(self, first_post: str) -> list[str]:
        """Posts above ``first_post``: commune post → NOC → coordinators."""
        levels = list(self.config.escalation.levels)
        if first_post in levels:
            return levels[levels.index(first_post) + 1 :]
        return levels

    def post_name(self, post: str) -> str:
        """Human name of a post, in Vietnamese."""
        if post.startswith("commune:"):
            code = post.split(":", 1)[1]
            entry = self.inventory.communes.get(code)
            if entry and entry.command_post:
                return entry.command_post
            ref = self.inventory.reference.communes.get(code)
            return f"Ban Chỉ huy {ref.name if ref else code}"
        named = self.config.posts.get(post)
        return named.name if named else POST_NAMES_VI.get(post, post)

    def contacts(self, post: str) -> tuple[Contact, ...]:
        """The people of a post."""
        if post.startswith("commune:"):
            entry = self.inventory.communes.get(post.split(":", 1)[1])
            return entry.contacts if entry else ()
        named = self.config.posts.get(post)
        return named.contacts if named else ()

    def channel_order(self, post: str) -> tuple[str, ...]:
        """Channel preference for a post (configured ones only)."""
        named = self.config.posts.get(post)
        order = named.channels if named and named.channels else self.config.commune_channels
        return tuple(c for c in order if c in self.config.channels)

    @staticmethod
    def failing_channels(incident: Incident) -> frozenset[str]:
        """Channels a ``delivery_failing`` incident is about (its ``delivery_failing:<channel>`` codes)."""
        if incident.kind is not IncidentKind.DELIVERY_FAILING:
            return frozenset()
        codes = incident.details.get("problems") or ()
        named = incident.details.get("channels") or ()
        return frozenset(
            [str(c).split(":", 1)[1] for c in codes if str(c).startswith("delivery_failing:")]
            + [str(c) for c in named]
        )

    def reaches_avoiding(self, post: str, avoid: frozenset[str]) -> bool:
        """Can ``post`` be reached through a channel not in ``avoid``?"""
        return any(ch not in avoid for d in self.deliveries(post) for ch, _ in d.chain)

    def avoiding(
        self, posts: list[str], avoid: frozenset[str], busy: frozenset[str] = frozenset()
    ) -> list[str]:
        """``posts``, plus another post when none is reachable without ``avoid`` (or all are ``busy``).

        ``busy`` are posts with messages stuck on a failing channel: news about
        the failure would wait behind them, so it goes somewhere else as well.
        """
        if not avoid and not busy:
            return posts
        if any(p not in busy and self.reaches_avoiding(p, avoid) for p in posts):
            return posts
        candidates = [*self.config.escalation.levels, "noc", "coordinators", *self.config.posts]
        for other in dict.fromkeys(candidates):
            if other not in posts and other not in busy and self.reaches_avoiding(other, avoid):
                return [*posts, other]
        return posts

    def deliveries(self, post: str, avoid: frozenset[str] = frozenset()) -> list[Delivery]:
        """Every contact with a non-empty channel chain, plus post-level channels (webhooks).

        Channels in ``avoid`` (failing ones) come last in every chain.
        """
        order = self.channel_order(post)
        if avoid:
            order = (*(c for c in order if c not in avoid), *(c for c in order if c in avoid))
        out: list[Delivery] = []
        for contact in self.contacts(post):
            chain = []
            for name in order:
                field = self.config.channels[name].address_field
                target = getattr(contact, field, None) if field != "none" else None
                if target:
                    chain.append((name, str(target).replace(" ", "")))
            if chain:
                out.append(Delivery(contact.name, tuple(chain)))
        for name in order:
            if self.config.channels[name].address_field == "none":
                out.append(Delivery(f"#{name}", ((name, ""),)))
        return out


def in_window(hours: str, now: int, timezone: ZoneInfo) -> bool:
    """Is ``now`` inside the local window 'HH:MM-HH:MM' (which may cross midnight)?"""
    start_s, end_s = hours.split("-")
    local = datetime.fromtimestamp(now, timezone)
    minute = local.hour * 60 + local.minute
    start = int(start_s[:2]) * 60 + int(start_s[3:])
    end = int(end_s[:2]) * 60 + int(end_s[3:])
    if start <= end:
        return start <= minute < end
    return minute >= start or minute < end
