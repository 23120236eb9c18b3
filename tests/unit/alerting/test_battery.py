"""The battery projection memo: the same figure as fitting afresh, one store read per reading."""

from __future__ import annotations

from pathlib import Path

from alerting.battery import ON_BATTERY_SOURCE, FitMemo, battery_figure, fit_runtime
from store.base import Sample
from store.sqlite import SqliteMetricStore

T0 = 1_790_000_000


class CountingStore(SqliteMetricStore):
    """The embedded store, counting range reads (the query the memo saves)."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.reads = 0

    def range(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        self.reads += 1
        return super().range(*args, **kwargs)


def discharging(store: SqliteMetricStore, device: str, minutes: int) -> dict[str, float | int]:
    """Write one reading a minute, charge falling 2 %/min; return the last reading's fields."""
    fields: dict[str, float | int] = {}
    for m in range(minutes + 1):
        fields = {"output_source": ON_BATTERY_SOURCE, "charge_pct": 100 - 2 * m, "seconds_on_battery": 60 * m}
        store.write([Sample("ups", {"device": device}, fields, T0 + 60 * m)])
    return fields


def test_the_memo_gives_the_fresh_fit_and_reads_the_store_once_per_reading(tmp_path: Path) -> None:
    store = CountingStore(tmp_path / "m.sqlite")
    fields = discharging(store, "p1", 5)
    at = T0 + 300
    fresh = fit_runtime(store, "p1", fields, at)
    assert fresh.minutes is not None and 40 < fresh.minutes < 50  # 90 % left at 2 %/min
    memo, before = FitMemo(), store.reads
    figures = [battery_figure(store, "p1", fields, at, observable=False, now=at + 60 * k, memo=memo)
               for k in range(5)]
    assert store.reads - before == 1
    assert memo.fit(store, "p1", fields, at) == fresh
    assert [f.minutes_left for f in figures] == [round(fresh.minutes - k, 1) for k in range(5)]  # counts down

    newer = discharging(store, "p1", 6)  # a new reading is fitted again
    assert memo.fit(store, "p1", newer, at + 60) == fit_runtime(store, "p1", newer, at + 60)


def test_the_memo_forgets_the_least_recently_used_beyond_its_size(tmp_path: Path) -> None:
    store = CountingStore(tmp_path / "m.sqlite")
    memo = FitMemo(size=2)
    fields = {"output_source": ON_BATTERY_SOURCE, "charge_pct": 80}
    for device in ("a", "b", "a", "c", "a", "b"):
        memo.fit(store, device, fields, T0)
    assert store.reads == 4  # a, b, c, and b again (pushed out by c)
