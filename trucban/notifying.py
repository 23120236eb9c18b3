"""Build the notification service from Trucban's settings (for ``trucban.alerting_parts`` and the CLI)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from alerting.network_view import TrackedNetwork
from alerting.notify import coverage
from alerting.notify.channel_urls import smtp_channel
from alerting.notify.config import Channel, ChannelKind, NotifyConfig, Post
from alerting.notify.config_load import load_notify_config
from alerting.notify.facade import NotifyService
from alerting.notify.incident_reader import Incidents
from alerting.notify.readiness import NetworkView
from alerting.notify.routing import POST_NAMES_VI, Router
from alerting.repository import IncidentRepository
from inventory.inventory import Inventory
from inventory.model import Contact
from trucban.urls import http_hosts, http_url

log = logging.getLogger(__name__)


def notify_from_settings(
    settings: Any,
    inventory: Inventory,
    engine: Engine,
    *,
    incidents: Incidents,
    view: Callable[[], NetworkView] | None = None,
    clock: Callable[[], float] = time.time,
) -> NotifyService:
    """Routes file + SMTP settings → a NotifyService on the alerting database ``engine``.

    The caller gives it to the alerting core as a subscriber; ``incidents`` is how it reads
    incidents, ``view`` the network picture for typhoon readiness reports.

    Raises ConfigError when channels are configured but a post an incident can
    be routed to has no contact any of them reaches (see :mod:`alerting.notify.coverage`).
    """
    extra: dict[str, Channel] = {}
    if settings.smtp_host:
        extra["email"] = smtp_channel(
            settings.smtp_host,
            settings.smtp_port,
            settings.smtp_from,
            user=settings.smtp_user,
            password=settings.smtp_password,
            starttls=settings.smtp_starttls,
            verify=settings.smtp_verify,
        )
    config = load_notify_config(settings.notify_routes, extra_channels=extra)
    config = with_noc_email(config, settings.noc_email)
    timezone = ZoneInfo(settings.timezone)
    nowhere = coverage.check(Router(inventory, config, timezone), str(settings.notify_routes or "settings"))
    base_url = (
        settings.notify_base_url
        or getattr(settings, "public_base_url", None)
        or _local_url(settings.http_host, settings.http_port)
    )
    service = NotifyService.build(
        engine,
        inventory,
        config,
        incidents=incidents,
        base_url=base_url,
        timezone=timezone,
        view=view,
        clock=clock,
    )
    if nowhere:
        log.warning(
            "notify: no channel configured (smtp_host or notify_routes): alerts reach nobody (%d posts: %s)",
            len(nowhere),
            coverage.summary_vi(nowhere),
        )
    return service


def with_noc_email(config: NotifyConfig, noc_email: str | None) -> NotifyConfig:
    """The built-in posts (NOC, coordinators) get ``noc_email`` as a contact if none of theirs has an e-mail.

    Only with an e-mail channel configured (``smtp_host`` or the routes file);
    a routes file that gives them e-mail contacts keeps its own.
    """
    if not noc_email or not any(ch.kind is ChannelKind.EMAIL for ch in config.channels.values()):
        return config
    posts = dict(config.posts)
    for name in coverage.BUILT_IN:
        post = posts.get(name) or Post(name=POST_NAMES_VI[name])
        if not any(c.email for c in post.contacts):
            contact = Contact(name=POST_NAMES_VI["noc"], role="noc_email", email=noc_email)
            posts[name] = post.model_copy(update={"contacts": (*post.contacts, contact)})
    return config.model_copy(update={"posts": posts})


def offline_core(settings: Any, inventory: Inventory) -> Any:
    """The alerting core's read side without running it (for the CLI): database, saved states, store."""
    from types import SimpleNamespace

    from alerting.db import database_url, open_database
    from alerting.staterepo import StateRepository
    from alerting.states import StateTracker
    from store.factory import open_backend

    engine = open_database(database_url(settings.database_url or settings.alerting_db))
    tracker = StateTracker(inventory)
    StateRepository(engine).restore(tracker)
    return SimpleNamespace(engine=engine, tracker=tracker, store=open_backend(settings.store))


def offline_service(settings: Any, inventory: Inventory, core: Any | None = None) -> NotifyService:
    """A NotifyService on the configured database without a running core (for the CLI).

    Messages it produces (readiness report, recovery summary) wait in the outbox
    for the running service's worker; the readiness report reads the saved states.
    A storm declared here shifts the running service's thresholds at its next
    evaluation (it reads the declarations).
    """
    core = core or offline_core(settings, inventory)
    network = TrackedNetwork(core.tracker, core.store)
    return notify_from_settings(settings, inventory, core.engine, incidents=IncidentRepository(core.engine),
                                view=lambda: network)


def _local_url(http_host: str, port: int) -> str:
    """A base URL for links when no public one is set (first listen address; wildcards → localhost)."""
    host = http_hosts(http_host)[0]
    return http_url("localhost" if host in ("::", "0.0.0.0") else host, port).rstrip("/")
