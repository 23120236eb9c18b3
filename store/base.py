"""The small interface every metric store offers, and the sample it stores.

Collectors produce :class:`Sample` objects; the poller hands them to a
:class:`MetricStore`. Readers (API, rules, reports) only use this interface,
so they never know whether InfluxDB or the embedded SQLite store is behind it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

FieldValue = float | int | str | bool


@dataclass(frozen=True, slots=True)
class Sample:
    """One measurement at one instant: InfluxDB's point, in plain Python.

    ``ts`` is UTC epoch seconds (storage precision is seconds). ``tags`` identify
    the series (device, commune, site, role, interface) and stay low-cardinality;
    ``fields`` carry the values.
    """

    measurement: str
    tags: Mapping[str, str]
    fields: Mapping[str, FieldValue]
    ts: int

    def series_key(self) -> tuple[str, tuple[tuple[str, str], ...]]:
        """Identity of the series this sample belongs to."""
        return self.measurement, tuple(sorted(self.tags.items()))


@dataclass(frozen=True, slots=True)
class Point:
    """A value read back from a store."""

    ts: int
    tags: Mapping[str, str]
    fields: Mapping[str, FieldValue] = field(default_factory=dict)


class MetricStore(Protocol):
    """What the rest of Trucban may ask of a time-series store."""

    def write(self, samples: Sequence[Sample]) -> None:
        """Store samples; the same series + timestamp overwrites (no double count)."""

    def latest(self, measurement: str, where: Mapping[str, str] | None = None) -> list[Point]:
        """Latest point of every series of ``measurement`` matching the tag filter."""

    def range(
        self,
        measurement: str,
        field_name: str,
        start: int,
        end: int,
        where: Mapping[str, str] | None = None,
    ) -> list[Point]:
        """Raw points of one field between ``start`` and ``end`` (epoch seconds)."""

    def close(self) -> None:
        """Flush and release resources."""
