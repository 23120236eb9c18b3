"""The one place that picks a metric store from the settings.

``influx_url`` set: InfluxDB (see ``store/influx.py``); otherwise the embedded
SQLite store in ``data_dir``. Either way it is wrapped in the durable spool, so
callers get one :class:`store.spool.SpoolingStore` and never know which
backend is behind it.
"""

from __future__ import annotations

from store.base import MetricStore
from store.spool import Spool, SpoolingStore
from trucban.settings import Settings


def open_backend(settings: Settings) -> MetricStore:
    """The configured backend alone (no spool): for the setup command and tools."""
    if settings.influx_url:
        from store.influx import InfluxMetricStore

        token = settings.influx_token.get_secret_value() if settings.influx_token else None
        return InfluxMetricStore(settings.influx_url, token=token, org=settings.influx_org,
                                 bucket=settings.influx_bucket, database=settings.influx_database,
                                 retention_policy=settings.influx_retention_policy, api=settings.influx_api)
    from store.sqlite import SqliteMetricStore

    return SqliteMetricStore(settings.metrics_db)


def open_store(settings: Settings) -> SpoolingStore:
    """The configured backend behind the durable spool in ``data_dir/spool``."""
    spool = Spool(settings.spool_dir, max_bytes=settings.spool_max_mb * 2**20)
    try:
        return SpoolingStore(open_backend(settings), spool)
    except BaseException:
        spool.close()
        raise
