"""``trucban influx setup`` against the real InfluxDB 1.6.7: retention policies and the rollup query."""

from __future__ import annotations

import re
import time

import pytest
from typer.testing import CliRunner

from store.base import Sample
from store.influx import InfluxMetricStore
from tests.functional import store_servers
from tests.functional.store_servers import InfluxServer
from trucban.cli import app

pytestmark = pytest.mark.functional
influxdb = store_servers.influxdb  # the server fixture, for this module


def setup_cli(server: InfluxServer, *args: str) -> str:
    env = {"TRUCBAN_INFLUX_URL": server.url, "TRUCBAN_INFLUX_DATABASE": "prod"}
    result = CliRunner().invoke(app, ["influx", "setup", *args], env=env)
    assert result.exit_code == 0, result.output
    return result.output


def policies(server: InfluxServer) -> dict[str, tuple[str, bool]]:
    rows = server.query('SHOW RETENTION POLICIES ON "prod"')["results"][0]["series"][0]["values"]
    return {name: (duration, default) for name, duration, _, _, default in rows}


def test_setup_makes_retention_and_rollups_and_can_run_again(influxdb: InfluxServer) -> None:
    out = setup_cli(influxdb)
    assert "raw: 30d" in out and "rollup_1h: 730d" in out
    assert policies(influxdb)["raw"] == ("720h0m0s", True)
    assert policies(influxdb)["rollup_1h"] == ("17520h0m0s", False)

    setup_cli(influxdb, "--raw", "8w", "--rollup", "INF")  # again, with new durations
    assert policies(influxdb)["raw"] == ("1344h0m0s", True)
    assert policies(influxdb)["rollup_1h"] == ("0s", False)
    cqs = influxdb.query("SHOW CONTINUOUS QUERIES")["results"][0]["series"]
    [(name, text)] = next(s["values"] for s in cqs if s["name"] == "prod")
    assert name == "trucban_rollup_1h"

    # Trucban writes into the default (raw) policy; the rollup query turns it into hourly rows.
    hour = (int(time.time()) // 3600 - 2) * 3600
    store = InfluxMetricStore(influxdb.url, database="prod")
    try:
        store.write([Sample("reachability", {"device": "r1", "commune": "a"},
                            {"up": k % 2, "latency_ms": float(k), "error_kind": "timeout"}, hour + 60 * k)
                     for k in range(60)])
        assert len(store.range("reachability", "up", hour, hour + 3600)) == 60
        select = re.search(r"BEGIN (.*) GROUP BY", text)[1]  # type: ignore[index]
        store.query(f"{select} WHERE time >= {hour}s AND time < {hour + 3600}s GROUP BY time(1h), *",
                    method="POST")
        rows = influxdb.query('SELECT * FROM "prod"."rollup_1h"."reachability" GROUP BY *', "prod")
        series = rows["results"][0]["series"][0]
        row = dict(zip(series["columns"], series["values"][0], strict=True))
        assert series["tags"] == {"commune": "a", "device": "r1"}
        assert row["time"] == hour
        assert row["mean_up"] == 0.5 and row["count_up"] == 60 and row["max_latency_ms"] == 59
    finally:
        store.close()


def test_setup_says_what_is_wrong() -> None:
    result = CliRunner().invoke(app, ["influx", "setup"], env={"TRUCBAN_INFLUX_URL": ""})
    assert result.exit_code == 2
    assert "influx_url" in result.output
