"""What the API reads: inventory, current states, metrics and poller health.

The API never polls devices or changes states; it only reads through this.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol
from zoneinfo import ZoneInfo

from alerting.core import AlertingCore
from alerting.states import DeviceState
from inventory.inventory import Inventory
from poller.cycle import CycleReport
from store.base import MetricStore


class StateSource(Protocol):
    """Anything that knows current device states."""

    states: dict[str, DeviceState]


class CycleSource(Protocol):
    """Anything that knows the last poll cycle's self-metrics."""

    last: CycleReport | None


@dataclass
class ApiContext:
    """Read-only handles for the API and pages."""

    inventory: Inventory
    tracker: StateSource
    store: MetricStore
    cycle: CycleSource
    timezone: ZoneInfo
    alerting: AlertingCore | None = None
