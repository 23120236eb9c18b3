"""One test suite, both backends: embedded SQLite and a real InfluxDB 1.6.7.

Every test gets a fresh store (a new SQLite file, or a new InfluxDB database on
the module's server) and must see exactly the same answers from both.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

from store.base import Availability, FieldValue, MetricStore, Point, Sample
from store.influx import InfluxMetricStore
from store.sqlite import SqliteMetricStore
from tests.functional import store_servers
from tests.functional.store_servers import InfluxServer

influxdb = store_servers.influxdb  # the server fixture, for this module

pytestmark = pytest.mark.functional
T0 = 1_767_225_600  # 2026-01-01T00:00:00Z, a multiple of every window below
_names = itertools.count()


@pytest.fixture(params=["sqlite", "sqlite-merging", "influxdb"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[MetricStore]:
    """A fresh, empty store of each kind (SQLite: rows kept in ``recent``, or merged at every write)."""
    if request.param.startswith("sqlite"):
        merge_rows = 1 if request.param == "sqlite-merging" else 1_000_000
        s: MetricStore = SqliteMetricStore(tmp_path / "metrics.sqlite", merge_rows=merge_rows)
    else:
        server: InfluxServer = request.getfixturevalue("influxdb")
        db = f"t{next(_names)}"
        server.query(f'CREATE DATABASE "{db}"')
        s = InfluxMetricStore(server.url, database=db, batch_size=1000)
    yield s
    s.close()


def tags(device: str, commune: str = "11311", **extra: str) -> dict[str, str]:
    return {"province": "31", "commune": commune, "site": f"hq-{commune}", "device": device,
            "role": "router", **extra}


def reach(device: str, commune: str, ts: int, up: int, latency: float = 1.5) -> Sample:
    return Sample("reachability", tags(device, commune), {"up": up, "latency_ms": latency}, ts)


def by_device(points: list[Point]) -> dict[str, Point]:
    return {p.tags["device"]: p for p in points}


def test_latest_is_the_newest_point_of_each_series(store: MetricStore) -> None:
    store.write([reach("r1", "11311", T0, 1, 2.0), reach("r2", "11311", T0, 1, 3.0)])
    store.write([Sample("reachability", tags("r1"), {"up": 0, "error_kind": "timeout"}, T0 + 30)])
    latest = by_device(store.latest("reachability"))
    assert set(latest) == {"r1", "r2"}
    assert latest["r1"].ts == T0 + 30
    assert latest["r1"].fields == {"up": 0, "error_kind": "timeout"}  # no latency_ms from the older point
    assert latest["r2"].ts == T0 and latest["r2"].fields == {"up": 1, "latency_ms": 3.0}
    assert dict(latest["r1"].tags) == tags("r1")
    assert [p.tags["device"] for p in store.latest("reachability", {"device": "r2"})] == ["r2"]
    assert store.latest("reachability", {"commune": "nowhere"}) == []
    assert store.latest("no_such_measurement") == []


def test_same_series_and_timestamp_overwrites(store: MetricStore) -> None:
    batch = [reach(f"r{i}", "11311", T0 + 30 * k, 1) for i in range(3) for k in range(4)]
    store.write(batch)
    store.write(batch)  # a replay
    store.write([reach("r0", "11311", T0 + 90, 0, 9.5)])  # a correction
    got = store.availability(T0, T0 + 120)
    assert got["r0"] == Availability("r0", 3, 4)
    assert got["r1"] == Availability("r1", 4, 4)
    counts = store.aggregate("reachability", "up", T0, T0 + 120, 120, "count")
    assert sorted(p.fields["count"] for p in counts) == [4, 4, 4]
    latest = by_device(store.latest("reachability"))
    assert latest["r0"].fields == {"up": 0, "latency_ms": 9.5}


def test_range_is_inclusive_filtered_and_oldest_first(store: MetricStore) -> None:
    store.write([reach(d, c, T0 + 30 * k, k % 2) for k in range(10) for d, c in (("r1", "a"), ("r2", "b"))])
    points = store.range("reachability", "up", T0 + 60, T0 + 150, {"commune": "a"})
    assert [(p.ts - T0, p.fields["up"]) for p in points] == [(60, 0), (90, 1), (120, 0), (150, 1)]
    assert all(p.tags["device"] == "r1" for p in points)
    both = store.range("reachability", "latency_ms", T0, T0 + 30)
    assert [(p.ts - T0, p.tags["device"]) for p in both] == [(0, "r1"), (0, "r2"), (30, "r1"), (30, "r2")]
    assert store.range("reachability", "no_such_field", T0, T0 + 300) == []


@pytest.mark.parametrize(("fn", "expected"), [
    ("mean", [2.5, 6.5]), ("max", [4, 8]), ("min", [1, 5]), ("last", [4, 8]), ("sum", [10, 26]),
    ("count", [4, 4]),
])
def test_aggregate_per_window(store: MetricStore, fn: str, expected: list[float]) -> None:
    store.write([Sample("snmp_if", tags("r1", if_index="1"), {"in_bps": v}, T0 + 30 * (v - 1))
                 for v in range(1, 9)])
    points = store.aggregate("snmp_if", "in_bps", T0, T0 + 240, 120, fn)  # type: ignore[arg-type]
    assert [p.ts for p in points] == [T0, T0 + 120]
    assert [p.fields[fn] for p in points] == pytest.approx(expected)
    assert dict(points[0].tags) == tags("r1", if_index="1")


def test_aggregate_keeps_series_apart_or_groups_them(store: MetricStore) -> None:
    samples = []
    for k in range(4):
        samples += [Sample("snmp_if", tags("r1", "a", if_index="1"), {"in_bps": 10.0 * k}, T0 + 30 * k),
                    Sample("snmp_if", tags("r1", "a", if_index="2"), {"in_bps": 100.0}, T0 + 30 * k),
                    Sample("snmp_if", tags("r2", "b", if_index="1"), {"in_bps": 1.0}, T0 + 30 * k)]
    store.write(samples)
    apart = store.aggregate("snmp_if", "in_bps", T0, T0 + 120, 60, "max")
    assert len(apart) == 6  # 3 series × 2 windows
    per_commune = store.aggregate("snmp_if", "in_bps", T0, T0 + 120, 60, "mean", group_by=["commune"])
    assert [(p.ts, dict(p.tags), p.fields["mean"]) for p in per_commune] == [
        (T0, {"commune": "a"}, pytest.approx(52.5)), (T0, {"commune": "b"}, 1.0),
        (T0 + 60, {"commune": "a"}, pytest.approx(62.5)), (T0 + 60, {"commune": "b"}, 1.0),
    ]
    everything = store.aggregate("snmp_if", "in_bps", T0, T0 + 120, 120, "sum", group_by=[],
                                 where={"device": "r1"})
    assert [(dict(p.tags), p.fields["sum"]) for p in everything] == [({}, 460.0)]


def test_aggregate_windows_align_on_the_epoch_and_skip_empty_ones(store: MetricStore) -> None:
    store.write([Sample("snmp_system", tags("r1"), {"uptime_ticks": 5}, T0 + 10),
                 Sample("snmp_system", tags("r1"), {"uptime_ticks": 7}, T0 + 610)])
    points = store.aggregate("snmp_system", "uptime_ticks", T0 + 5, T0 + 900, 300, "last")
    assert [(p.ts, p.fields["last"]) for p in points] == [(T0, 5), (T0 + 600, 7)]
    with pytest.raises(ValueError):
        store.aggregate("snmp_system", "uptime_ticks", T0, T0 + 900, 300, "median")  # type: ignore[arg-type]


def test_availability_per_device_and_commune(store: MetricStore) -> None:
    # a1 up 3/4, a2 up 4/4 in commune a; b1 up 0/4 in commune b; a sample outside the period
    ups = {"a1": [1, 0, 1, 1], "a2": [1, 1, 1, 1], "b1": [0, 0, 0, 0]}
    store.write([reach(d, d[0], T0 + 30 * k, up) for d, seq in ups.items() for k, up in enumerate(seq)])
    store.write([reach("a1", "a", T0 + 120, 0), reach("a1", "a", T0 - 30, 0)])
    devices = store.availability(T0, T0 + 120)
    assert devices == {"a1": Availability("a1", 3, 4), "a2": Availability("a2", 4, 4),
                       "b1": Availability("b1", 0, 4)}
    assert devices["a1"].fraction == 0.75
    communes = store.availability(T0, T0 + 120, by="commune")
    assert communes == {"a": Availability("a", 7, 8), "b": Availability("b", 0, 4)}
    assert store.availability(T0, T0 + 120, where={"commune": "b"}) == {"b1": Availability("b1", 0, 4)}
    assert store.availability(T0 + 3600, T0 + 7200) == {}


def test_awkward_names_and_values_round_trip(store: MetricStore) -> None:
    odd = {"province": "31", "commune": "Phường Hồng Bàng", "site": "trạm, số 1", "device": "a=b c",
           "role": 'q"uote', "if_index": "Gi0/0/1"}
    fields: dict[str, FieldValue] = {"text": 'say "xin chào", back\\slash', "flag": True, "big": 2**62,
                                     "neg": -7, "ratio": 0.25}
    store.write([Sample("odd measurement,x", odd, fields, T0)])
    [point] = store.latest("odd measurement,x")
    assert dict(point.tags) == odd
    assert point.fields["text"] == fields["text"]
    assert point.fields["flag"] in (True, 1)
    assert point.fields["big"] == 2**62 and point.fields["neg"] == -7 and point.fields["ratio"] == 0.25
    assert store.latest("odd measurement,x", {"site": "trạm, số 1"})[0].tags["device"] == "a=b c"


def test_values_no_store_can_keep_are_left_out_alike(store: MetricStore) -> None:
    store.write([Sample("m", tags("r1"), {"ok": 1.0, "nan": float("nan"), "inf": float("inf"), "huge": 2**64},
                        T0),
                 Sample("m", tags("r2"), {"nan": float("nan")}, T0)])
    assert [(p.tags["device"], dict(p.fields)) for p in store.latest("m")] == [("r1", {"ok": 1.0})]


def test_big_writes_are_batched_and_all_arrive(store: MetricStore) -> None:
    devices, cycles = 500, 5
    store.write([reach(f"d{d}", f"c{d % 7}", T0 + 30 * k, (d + k) % 2) for k in range(cycles)
                 for d in range(devices)])
    total = store.availability(T0, T0 + 30 * cycles, by="province")
    assert total == {"31": Availability("31", devices * cycles // 2, devices * cycles)}
    assert len(store.latest("reachability")) == devices
