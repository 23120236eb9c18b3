"""The v2 write path (influxdb-client: batches, gzip, retries) into a real server.

VictoriaMetrics takes ``/api/v2/write`` for real; every point is read back
through its export API. It names a series ``measurement_field`` and keeps
numbers only.
"""

from __future__ import annotations

import pytest

from store.base import Sample
from store.influx import InfluxMetricStore
from tests.functional import store_servers
from tests.functional.store_servers import VictoriaServer

pytestmark = pytest.mark.functional
victoria = store_servers.victoria  # the server fixture, for this module
T0 = 1_767_225_600


def samples(measurement: str, devices: int, cycles: int) -> list[Sample]:
    return [Sample(measurement, {"province": "31", "commune": f"c{d % 9}", "site": f"s{d}", "device": f"d{d}",
                                 "role": "router", "if_index": str(d % 4)},
                   {"in_octets": 10**12 + k, "oper_status": 1, "util": 0.5}, T0 + 30 * k)
            for k in range(cycles) for d in range(devices)]


def test_every_batch_arrives_once_and_rewrites_replace(victoria: VictoriaServer) -> None:
    store = InfluxMetricStore(victoria.url, bucket="trucban", batch_size=1000)
    try:
        batch = samples("snmp_if", devices=400, cycles=30)  # 12,000 points in 12 batches
        store.write(batch)
        assert store.api == "v2"
        assert victoria.count("snmp_if_in_octets") == len(batch)
        store.write(batch[:5000])  # a replay: same series + timestamps
        assert victoria.count("snmp_if_in_octets") == len(batch)
        assert victoria.count("snmp_if_util") == len(batch)
    finally:
        store.close()


def test_tags_and_values_arrive_as_written(victoria: VictoriaServer) -> None:
    store = InfluxMetricStore(victoria.url)
    try:
        store.write([Sample("ups", {"commune": "Phường Hồng Bàng", "device": "bts 1,a=b"},
                            {"charge_pct": 87, "minutes_remaining": 42.5}, T0)])
    finally:
        store.close()
    [series] = victoria.export('{__name__="ups_charge_pct"}')
    assert series["metric"]["commune"] == "Phường Hồng Bàng"
    assert series["metric"]["device"] == "bts 1,a=b"
    assert series["values"] == [87] and series["timestamps"] == [T0 * 1000]
