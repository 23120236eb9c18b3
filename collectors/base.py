"""What every collector gives back, and the registry of collectors by name.

A collector turns one device's answers into :class:`store.base.Sample` objects.
It never raises for a device problem: the failure is data in the
:class:`PollResult`, so one dead device never aborts a cycle.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from common.vocab import ERROR_KIND_VI
from inventory.model import Device
from store.base import Sample


@dataclass(slots=True)
class PollResult:
    """The outcome of polling one device once (as nornir's per-host result)."""

    device: str
    ok: bool
    ts: int
    samples: list[Sample] = field(default_factory=list)
    error: str | None = None
    error_kind: str | None = None  # "timeout", "auth", "protocol", "internal"
    duration_ms: float = 0.0
    # When the poll started (epoch seconds, sub-second): the instant this result speaks for.
    # The poller sets it; state moves only forward in it (0: use ``ts``).
    observed: float = 0.0

    @property
    def observed_at(self) -> float:
        """The observation instant: ``observed`` when the poller set it, else ``ts``."""
        return self.observed or float(self.ts)


def failure_vi(result: PollResult) -> str:
    """Why a poll failed, in Vietnamese (the error kind's meaning; the raw text stays in logs)."""
    return ERROR_KIND_VI.get(result.error_kind or "", "không trả lời")


class Collector(Protocol):
    """A protocol driver: polls one device, returns its result."""

    name: str

    async def poll(self, device: Device, tags: dict[str, str]) -> PollResult:
        """Poll ``device``; ``tags`` identify its series (commune, site, role…)."""

    async def close(self) -> None:
        """Release sessions and sockets."""


CollectorFactory = Callable[..., Collector]


class CollectorRegistry:
    """Collectors registered by name (as apprise's plugins); one registry per app."""

    def __init__(self) -> None:
        self._factories: dict[str, CollectorFactory] = {}

    def register(self, name: str, factory: CollectorFactory) -> None:
        """Make a collector available under ``name``; names are unique."""
        if name in self._factories:
            raise ValueError(f"collector {name!r} is already registered")
        self._factories[name] = factory

    def create(self, name: str, **options: object) -> Collector:
        """Build the collector registered under ``name``."""
        try:
            factory = self._factories[name]
        except KeyError:
            known = ", ".join(sorted(self._factories)) or "none"
            raise KeyError(f"unknown collector {name!r} (known: {known})") from None
        return factory(**options)

    def names(self) -> list[str]:
        """Registered collector names."""
        return sorted(self._factories)
