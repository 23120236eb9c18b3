"""Maintenance windows: scoped by device, site, commune or role; one-off or weekly.

Inside a window nothing pages and availability reports exclude the time.
Recurring windows are written in local time (Asia/Ho_Chi_Minh), the way the
people who plan them think.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, insert, or_, select, update

from alerting.db import maintenance_windows
from inventory.inventory import Inventory

SCOPES = ("device", "site", "commune", "role")


@dataclass(frozen=True, slots=True)
class MaintenanceWindow:
    """A planned window; ``recurrence`` = {"weekdays": [0-6, Mon=0], "start": "HH:MM", "minutes": N}."""

    id: int
    scope: str
    target: str
    starts_at: int
    ends_at: int | None
    recurrence: dict[str, Any] | None
    reason: str
    created_by: str
    created_at: int
    cancelled_at: int | None = None

    def active(self, now: int, tz: ZoneInfo) -> bool:
        """Whether the window is in force at ``now``."""
        if self.cancelled_at is not None and now >= self.cancelled_at:
            return False
        if now < self.starts_at or (self.ends_at is not None and now >= self.ends_at):
            return False
        if not self.recurrence:
            return True
        return _in_weekly_slot(self.recurrence, now, tz)

    def covers(self, inventory: Inventory, device_id: str) -> bool:
        """Whether the window's scope includes ``device_id``."""
        dev = inventory.devices[device_id]
        if self.scope == "device":
            return dev.id == self.target
        if self.scope == "site":
            return dev.site == self.target
        if self.scope == "commune":
            return inventory.sites[dev.site].commune == self.target
        return dev.role.value == self.target


def _in_weekly_slot(rec: dict[str, Any], now: int, tz: ZoneInfo) -> bool:
    local = datetime.fromtimestamp(now, tz)
    hour, minute = (int(x) for x in str(rec["start"]).split(":"))
    length = timedelta(minutes=int(rec["minutes"]))
    for days_back in (0, 1, 2, 3, 4, 5, 6, 7):
        day = local - timedelta(days=days_back)
        start = day.replace(hour=hour, minute=minute, second=0, microsecond=0)
        if start.weekday() in rec.get("weekdays", range(7)) and start <= local < start + length:
            return True
    return False


class MaintenanceRepository:
    """Maintenance windows in the alerting database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add(self, *, scope: str, target: str, starts_at: int, ends_at: int | None,
            recurrence: dict[str, Any] | None, reason: str, created_by: str, now: int) -> MaintenanceWindow:
        """Create a window; scope must be one of device/site/commune/role."""
        if scope not in SCOPES:
            raise ValueError(f"scope {scope!r} is not one of {', '.join(SCOPES)}")
        if ends_at is None and not recurrence:
            raise ValueError("a one-off window needs an end time")
        if ends_at is not None and ends_at <= starts_at:
            raise ValueError("the window must end after it starts")
        values = dict(scope=scope, target=target, starts_at=starts_at, ends_at=ends_at,
                      recurrence=recurrence, reason=reason, created_by=created_by, created_at=now)
        with self.engine.begin() as conn:
            key = conn.execute(insert(maintenance_windows).values(**values)).inserted_primary_key
            assert key is not None
            new_id = key[0]
        return MaintenanceWindow(id=new_id, **values)  # type: ignore[arg-type]

    def cancel(self, window_id: int, now: int) -> None:
        """End a window now."""
        with self.engine.begin() as conn:
            conn.execute(update(maintenance_windows).where(maintenance_windows.c.id == window_id)
                         .values(cancelled_at=now))

    def not_over(self, now: int) -> list[MaintenanceWindow]:
        """The windows that may be in force at ``now`` or later (not ended, not cancelled), newest first.

        The evaluation reads these at every call; the windows of years past stay out of it.
        """
        c = maintenance_windows.c
        query = (select(maintenance_windows)
                 .where(or_(c.ends_at.is_(None), c.ends_at > now),
                        or_(c.cancelled_at.is_(None), c.cancelled_at > now))
                 .order_by(c.id.desc()))
        with self.engine.connect() as conn:
            return [MaintenanceWindow(**r._asdict()) for r in conn.execute(query)]

    def all(self) -> list[MaintenanceWindow]:
        """Every window, newest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(maintenance_windows).order_by(maintenance_windows.c.id.desc()))
            return [MaintenanceWindow(**r._asdict()) for r in rows]


def devices_in_maintenance(windows: list[MaintenanceWindow], inventory: Inventory, now: int,
                           tz: ZoneInfo) -> set[str]:
    """Ids of devices covered by a window active at ``now``."""
    active = [w for w in windows if w.active(now, tz)]
    if not active:
        return set()
    out: set[str] = set()
    for w in active:  # what ``MaintenanceWindow.covers`` says, through the inventory's indexes
        if w.scope == "device":
            out.update({w.target} & inventory.devices.keys())
        elif w.scope == "site":
            out.update(d.id for d in inventory.devices.values() if d.site == w.target)
        elif w.scope == "commune":
            out.update(inventory.devices_by_commune.get(w.target, ()))
        else:
            out.update(d.id for d in inventory.devices.values() if d.role.value == w.target)
    return out
