"""``trucban influx setup``: retention and downsampling on the InfluxDB server.

What it makes (idempotent: run it again after changing a duration), see
``store/SCHEMA.md``:

- **InfluxDB 1.x**: database ``<db>``; retention policy ``raw`` (default
  30 days) as the database's default, where Trucban writes and reads; retention
  policy ``rollup_1h`` (default 2 years); continuous query ``trucban_rollup_1h``
  writing hourly ``mean_*``, ``max_*``, ``min_*`` and ``count_*`` of every
  numeric field of every measurement into ``rollup_1h`` with all tags kept.
- **InfluxDB 2.x**: bucket ``<bucket>`` (raw retention) and bucket
  ``<bucket>_1h`` (rollup retention) in ``<org>``; DBRP mappings
  ``<db>/raw`` (default) and ``<db>/rollup_1h`` so InfluxQL reads them.
  2.x has no continuous queries; its downsampling would be a Flux task, which
  Trucban does not build on (InfluxDB 3 dropped Flux): the rollup bucket is
  made ready and the note says so.
- **InfluxDB 3.x** creates a database on first write; the command says how to
  set its retention with the ``influxdb3`` tool.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from common.errors import TrucbanError
from store.influx import InfluxMetricStore, quote_ident

RAW_RP = "raw"
ROLLUP_RP = "rollup_1h"
ROLLUP_CQ = "trucban_rollup_1h"
_DURATION = re.compile(r"^(\d+)([smhdw])$")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


class SetupError(TrucbanError, RuntimeError):
    """The server refused a setup step; the message says which and why."""


@dataclass(frozen=True)
class Retention:
    """How long raw samples and hourly rollups are kept (InfluxQL durations: 30d, 104w, INF)."""

    raw: str = "30d"
    rollup: str = "730d"

    def __post_init__(self) -> None:
        for name, value in (("raw", self.raw), ("rollup", self.rollup)):
            if value.upper() != "INF" and not _DURATION.match(value):
                raise SetupError(f"{name} retention {value!r}: use a number and s/m/h/d/w, e.g. 30d, or INF")


def duration_seconds(value: str) -> int:
    """Seconds of an InfluxQL duration; 0 for INF (2.x: keep for ever)."""
    found = _DURATION.match(value)
    return int(found[1]) * _SECONDS[found[2]] if found else 0


def setup(store: InfluxMetricStore, retention: Retention) -> list[str]:
    """Set the server up for Trucban; the list of what was done, for the operator."""
    version = store.ping()
    major = version.lstrip("v").split(".")[0]
    if major == "1":
        return setup_v1(store, retention, version)
    if major == "2":
        return setup_v2(store, retention, version)
    if major == "3":
        return [f"InfluxDB {version}: database {store.database!r} is created on the first write.",
                f"Retention: influxdb3 update database --retention-period {retention.raw} {store.database}",
                "Downsampling: InfluxDB 3 has no continuous queries; raw data is read as it is."]
    raise SetupError(f"{store.url} does not say it is InfluxDB (no X-Influxdb-Version from /ping); "
                     "nothing to set up (VictoriaMetrics sets retention with -retentionPeriod)")


def _run(store: InfluxMetricStore, influxql: str) -> list[dict]:
    try:
        return store.query(influxql, method="POST")
    except TrucbanError as exc:
        raise SetupError(f"{influxql.split(' ON ')[0]}: {exc}") from None


def setup_v1(store: InfluxMetricStore, retention: Retention, version: str) -> list[str]:
    """Database, the two retention policies and the rollup continuous query (1.x)."""
    db = quote_ident(store.database)
    done = [f"InfluxDB {version}: database {store.database!r}"]
    _run(store, f"CREATE DATABASE {db}")
    existing = {row[0]: row for row in _rows(_run(store, f"SHOW RETENTION POLICIES ON {db}"))}
    for name, duration, default in ((RAW_RP, retention.raw, True), (ROLLUP_RP, retention.rollup, False)):
        verb = "ALTER" if name in existing else "CREATE"
        _run(store, f"{verb} RETENTION POLICY {quote_ident(name)} ON {db} DURATION {duration} REPLICATION 1"
                    f"{' DEFAULT' if default else ''}")
        note = " (default: Trucban writes here)" if default else ""
        done.append(f"retention policy {name}: {duration}{note}")
    cq = (f"CREATE CONTINUOUS QUERY {quote_ident(ROLLUP_CQ)} ON {db} BEGIN"
          f" SELECT mean(*), max(*), min(*), count(*) INTO {db}.{quote_ident(ROLLUP_RP)}.:MEASUREMENT"
          f" FROM {db}.{quote_ident(RAW_RP)}./.*/ GROUP BY time(1h), * END")
    queries = {row[0]: row[1] for result in _run(store, "SHOW CONTINUOUS QUERIES")
               for series in result.get("series", []) if series.get("name") == store.database
               for row in series.get("values", [])}
    if ROLLUP_CQ in queries:
        _run(store, f"DROP CONTINUOUS QUERY {quote_ident(ROLLUP_CQ)} ON {db}")
    _run(store, cq)
    done.append(f"continuous query {ROLLUP_CQ}: hourly mean/max/min/count of every field into {ROLLUP_RP}")
    return done


def setup_v2(store: InfluxMetricStore, retention: Retention, version: str) -> list[str]:
    """Raw and rollup buckets with their retention, and DBRP mappings for InfluxQL (2.x)."""
    org_id = _org_id(store)
    done = [f"InfluxDB {version}: organisation {store.org!r}"]
    for bucket, rp, duration, default in (
        (store.bucket, RAW_RP, retention.raw, True),
        (f"{store.bucket}_1h", ROLLUP_RP, retention.rollup, False),
    ):
        bucket_id = _bucket(store, org_id, bucket, duration_seconds(duration))
        _dbrp(store, org_id, bucket_id, rp, default)
        done.append(f"bucket {bucket}: {duration}; InfluxQL {store.database}/{rp}"
                    f"{' (default)' if default else ''}")
    done.append("downsampling: InfluxDB 2.x has no continuous queries; a task into "
                f"{store.bucket}_1h would be Flux, which Trucban does not use (see store/SCHEMA.md)")
    return done


def _rows(results: list[dict]) -> list[list]:
    return [row for result in results for series in result.get("series", [])
            for row in series.get("values", [])]


def _api(store: InfluxMetricStore, method: str, path: str, **kwargs: object) -> dict:
    response = store.request(method, path, **kwargs)  # type: ignore[arg-type]
    if response.status_code >= 300:
        raise SetupError(f"{method} {path}: {response.status_code} {response.text.strip()[:300]}")
    return response.json() if response.content else {}


def _org_id(store: InfluxMetricStore) -> str:
    orgs = _api(store, "GET", "/api/v2/orgs", params={"org": store.org}).get("orgs", [])
    if not orgs:
        raise SetupError(f"organisation {store.org!r} not found (settings: influx_org)")
    return str(orgs[0]["id"])


def _bucket(store: InfluxMetricStore, org_id: str, name: str, seconds: int) -> str:
    rules = [{"type": "expire", "everySeconds": seconds}] if seconds else []
    found = _api(store, "GET", "/api/v2/buckets", params={"orgID": org_id, "name": name}).get("buckets", [])
    if found:
        bucket_id = str(found[0]["id"])
        _api(store, "PATCH", f"/api/v2/buckets/{bucket_id}", json={"retentionRules": rules})
        return bucket_id
    created = _api(store, "POST", "/api/v2/buckets",
                   json={"orgID": org_id, "name": name, "retentionRules": rules})
    return str(created["id"])


def _dbrp(store: InfluxMetricStore, org_id: str, bucket_id: str, rp: str, default: bool) -> None:
    found = _api(store, "GET", "/api/v2/dbrps",
                 params={"orgID": org_id, "db": store.database, "rp": rp}).get("content", [])
    if found and found[0].get("bucketID") != bucket_id:  # a mapping to another bucket: replace it
        _api(store, "DELETE", f"/api/v2/dbrps/{found[0]['id']}", params={"orgID": org_id})
        found = []
    if found:
        if bool(found[0].get("default")) != default:
            _api(store, "PATCH", f"/api/v2/dbrps/{found[0]['id']}", params={"orgID": org_id},
                 json={"default": default})
        return
    _api(store, "POST", "/api/v2/dbrps", json={"orgID": org_id, "bucketID": bucket_id,
                                               "database": store.database, "retention_policy": rp,
                                               "default": default})
