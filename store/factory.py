"""The one place that picks a metric store from its small configuration.

``influx_url`` set: InfluxDB (see ``store/influx.py``); otherwise the embedded
SQLite store at ``sqlite_path``. Either way it is wrapped in the durable spool,
so callers get one :class:`store.spool.spooling.SpoolingStore` and never know which
backend is behind it. The composition root builds :class:`StoreConfig` from
the settings; this room never reads them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from store.base import MetricStore
from store.spool.segments import Spool
from store.spool.spooling import SpoolingStore


@dataclass(frozen=True)
class StoreConfig:
    """Where metrics go: InfluxDB when ``influx_url`` is set, else SQLite; and the spool."""

    sqlite_path: Path
    spool_dir: Path
    spool_max_bytes: int = 512 * 2**20
    influx_url: str | None = None
    influx_token: str | None = field(default=None, repr=False)
    influx_org: str = "trucban"
    influx_bucket: str = "trucban"
    influx_database: str | None = None
    influx_retention_policy: str | None = None
    influx_api: str = "auto"
    # local metric writes stop when less is free on their disk: the rest is for the alerting database
    min_free_bytes: int = 16 * 2**20


def open_backend(config: StoreConfig) -> MetricStore:
    """The configured backend alone (no spool): for the setup command and tools."""
    if config.influx_url:
        from store.influx import InfluxMetricStore

        return InfluxMetricStore(config.influx_url, token=config.influx_token, org=config.influx_org,
                                 bucket=config.influx_bucket, database=config.influx_database,
                                 retention_policy=config.influx_retention_policy,
                                 api=config.influx_api)
    from store.sqlite import SqliteMetricStore

    return SqliteMetricStore(config.sqlite_path)


def open_store(config: StoreConfig) -> SpoolingStore:
    """The configured backend behind the durable spool."""
    spool = Spool(config.spool_dir, max_bytes=config.spool_max_bytes)
    try:
        return SpoolingStore(open_backend(config), spool, min_free_bytes=config.min_free_bytes)
    except BaseException:
        spool.close()
        raise
