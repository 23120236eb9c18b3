"""The network right now, for reports that are not rules: tracked states and the latest power readings.

Typhoon readiness (declared in notify, or proposed by the storm desk) asks
about devices, links and power systems through
:class:`alerting.notify.readiness.NetworkView`. This is that view over what
evaluation already holds — the state tracker and the metric store — built at
the composition root, so notify never reads states or metrics itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from alerting.states import StateTracker
from store.base import MetricStore


@dataclass(frozen=True)
class TrackedNetwork:
    """A ``NetworkView`` over the alerting core's tracker and the metric store."""

    tracker: StateTracker
    store: MetricStore

    def device_status(self, device_id: str) -> str:
        """Tracked status of a device ('unknown' when never seen)."""
        state = self.tracker.states.get(device_id)
        return state.status.value if state else "unknown"

    def power(self, device_id: str) -> dict[str, Any] | None:
        """Latest 'ups' sample of a power system, or None."""
        points = self.store.latest("ups", {"device": device_id})
        return dict(points[0].fields) if points else None

    def link_status(self, link_id: str) -> str:
        """Tracked status of a link ('unknown' when never seen)."""
        state = self.tracker.links.get(link_id)
        return state.status.value if state else "unknown"
