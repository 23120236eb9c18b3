"""The small interface every metric store offers, and the sample it stores.

Collectors produce :class:`Sample` objects; the poller hands them to a
:class:`MetricStore`. Readers (API, rules, reports) only use this interface,
so they never know whether InfluxDB or the embedded SQLite store is behind it.
The schema (measurements, tags, fields) is described in ``store/SCHEMA.md``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

from common.errors import StoreUnavailable as StoreUnavailable  # re-exported for the backends
from common.errors import TrucbanError

FieldValue = float | int | str | bool
Aggregation = Literal["mean", "max", "min", "last", "sum", "count"]
AGGREGATIONS: tuple[str, ...] = ("mean", "max", "min", "last", "sum", "count")
REACHABILITY = "reachability"  # written by the poller for every device every cycle; field ``up`` 1/0


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


@dataclass(frozen=True, slots=True)
class Availability:
    """How often a device (or every device of a commune) answered in a period.

    ``up`` of ``total`` reachability samples were 1; each poll cycle is one
    sample, so with a steady interval the fraction is the fraction of time up.
    """

    key: str
    up: int
    total: int

    @property
    def fraction(self) -> float:
        """Share of samples up, 0..1 (0 when there is no sample)."""
        return self.up / self.total if self.total else 0.0


class StoreRejected(TrucbanError, ValueError):
    """The store refused the data itself (bad line, type conflict); retrying cannot help.

    ``samples`` are the ones refused (the rest of the write was stored).
    """

    def __init__(self, message: str, samples: Sequence[Sample] = ()) -> None:
        super().__init__(message)
        self.samples = list(samples)


class MetricStore(Protocol):
    """What the rest of Trucban may ask of a time-series store."""

    def write(self, samples: Sequence[Sample]) -> None:
        """Store samples; the same series + timestamp overwrites (no double count)."""

    def latest(self, measurement: str, where: Mapping[str, str] | None = None) -> list[Point]:
        """Newest point of every series of ``measurement`` matching the tag filter.

        The point carries the fields written at that newest timestamp only.
        """

    def range(
        self,
        measurement: str,
        field_name: str,
        start: int,
        end: int,
        where: Mapping[str, str] | None = None,
    ) -> list[Point]:
        """Raw points of one field between ``start`` and ``end`` inclusive (epoch s), oldest first."""

    def aggregate(
        self,
        measurement: str,
        field_name: str,
        start: int,
        end: int,
        every: int,
        fn: Aggregation = "mean",
        where: Mapping[str, str] | None = None,
        group_by: Sequence[str] | None = None,
    ) -> list[Point]:
        """One point per window of ``every`` seconds in [start, end) and per group.

        Windows are aligned on multiples of ``every`` since the epoch and stamped
        with their start; empty windows are left out. ``group_by`` None keeps
        every series apart; a list of tag names merges series sharing those tags
        (the point's tags are then only those). The value is under ``fn``'s name.
        """

    def availability(
        self,
        start: int,
        end: int,
        by: str = "device",
        where: Mapping[str, str] | None = None,
    ) -> dict[str, Availability]:
        """Reachability in [start, end) per value of tag ``by`` (``device``, ``commune``, …)."""

    def close(self) -> None:
        """Flush and release resources."""


INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def storable(value: FieldValue) -> bool:
    """Whether every backend can keep ``value``: no NaN/±inf, integers within int64.

    Both stores leave other values out (InfluxDB and SQLite would refuse them),
    so a store never differs from the other on what it kept.
    """
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return INT64_MIN <= value <= INT64_MAX
    return True


def check_aggregation(fn: str, every: int) -> None:
    """Refuse an unknown function or a non-positive window before asking a backend."""
    if fn not in AGGREGATIONS:
        raise ValueError(f"unknown aggregation {fn!r}; use one of {', '.join(AGGREGATIONS)}")
    if every <= 0:
        raise ValueError(f"window must be a positive number of seconds (got {every})")
