"""Which command posts an incident can reach, and which of them no configured channel reaches.

A post is *routable* when a route or an escalation level can send an incident
to it: the named posts in ``routes[].to`` and ``escalation.levels``, and every
commune whose sites (or command-post entry) a ``to: commune`` route can match.
It is *reachable* when at least one of its contacts has the address field of a
channel in its channel list (or the list holds a post-level channel, a webhook).

At start a routable post that no channel reaches is a :class:`ConfigError`
naming the post and what to set; a service without any channel (the embedded
demo) starts, and says where alerts cannot go (``/readyz``, dashboard banner,
incident timeline).
"""

from __future__ import annotations

from dataclasses import dataclass

from alerting.notify.config import Match, NotifyConfig
from alerting.notify.routing import COMMUNE_SITES, Router
from common.errors import ConfigError, Problem
from inventory.inventory import Inventory

BUILT_IN = ("noc", "coordinators")
ADDRESS_EN = {
    "email": "an e-mail address",
    "phone": "a phone number",
    "zalo": "a Zalo chat id",
    "telegram": "a Telegram chat id",
}
SHOWN = 5  # posts named in a banner or problem text before "… và N trạm khác"


@dataclass(frozen=True, slots=True)
class Gap:
    """A routable post that no configured channel reaches."""

    post: str  # id: 'noc', 'commune:11311', …
    name: str  # Vietnamese name, for people
    fix: str  # what to set, in the words of the configuration (English, like every ConfigError)

    def as_dict(self) -> dict[str, str]:
        """JSON-able form."""
        return {"post": self.post, "name": self.name, "fix": self.fix}


def routable_posts(config: NotifyConfig, inventory: Inventory) -> list[str]:
    """Every post a route or an escalation level can send an incident to, in a stable order."""
    posts: dict[str, None] = {}
    for route in config.routes:
        for target in route.to:
            if target == "commune":
                posts.update((f"commune:{code}", None) for code in sorted(_communes(route.match, inventory)))
            else:
                posts[target] = None
    posts.update((level, None) for level in config.escalation.levels)
    return list(posts)


def _communes(match: Match, inventory: Inventory) -> set[str]:
    """Communes whose incidents a route with ``to: commune`` can match."""
    codes = {
        site.commune
        for site in inventory.sites.values()
        if match.scope is None or (site.kind in COMMUNE_SITES) == (match.scope == "commune")
    }
    if match.scope != "city":
        codes |= set(inventory.communes)  # commune-level incidents (isolated, on backup) carry the code
    return codes & set(match.communes) if match.communes else codes


def gaps(router: Router) -> list[Gap]:
    """Routable posts that no configured channel reaches."""
    return [
        Gap(post, router.post_name(post), _fix(router, post))
        for post in routable_posts(router.config, router.inventory)
        if not router.deliveries(post)
    ]


def _fix(router: Router, post: str) -> str:
    """'post 'noc' has no contact with an e-mail address: set noc_email or define posts.noc …'."""
    order = router.channel_order(post)
    fields = sorted({router.config.channels[c].address_field for c in order} - {"none"})
    if not router.config.channels:
        lack = "no channel is configured"
    elif not order:
        lack = "none of its channels is configured"
    else:
        lack = "no contact with " + " or ".join(ADDRESS_EN.get(f, f"a '{f}' field") for f in fields)
    if post.startswith("commune:"):
        code = post.split(":", 1)[1]
        where = f"add such a contact to commune {code} (communes: contacts) in the inventory"
    elif post in BUILT_IN:
        where = f"set noc_email or define posts.{post} (with contacts) in the routes file"
    else:
        where = f"add contacts to posts.{post} in the routes file"
    if not router.config.channels:
        where = "set smtp_host (and noc_email) or define channels in the routes file (notify_routes)"
    return f"post '{post}' has {lack}: {where}"


def check(router: Router, source: str) -> list[Gap]:
    """Raise ConfigError when channels are configured but a routable post has none reachable.

    With no channel at all (the embedded demo) nothing is raised: the gaps are
    returned so the caller can report them.
    """
    found = gaps(router)
    if found and router.config.channels:
        problems = [Problem(source, None, f"posts.{g.post}", g.name, g.fix) for g in found]
        raise ConfigError(problems, "notify routes")
    return found


def summary_vi(found: list[Gap]) -> str:
    """'Trực ban NOC thành phố, Ban Chỉ huy Phường A và 3 trạm khác' (the banner's list)."""
    names = [g.name for g in found[:SHOWN]]
    more = f" và {len(found) - SHOWN} trạm khác" if len(found) > SHOWN else ""
    return ", ".join(names) + more
