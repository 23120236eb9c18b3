"""InfluxDB backend: writes line protocol, reads back with InfluxQL.

Writes go through influxdb-client's v2 write API (``/api/v2/write``, which
InfluxDB 1.8+, 2.x, 3.x, Cloud and VictoriaMetrics accept): synchronous calls
of ``batch_size`` lines each, gzip-compressed, retried with exponential backoff
by the client's own retry strategy. Servers older than 1.8 only have the v1
``/write`` endpoint; the store finds out from ``/ping``'s version header (or is
told with ``api="v1"``) and posts there itself, gzip and backoff alike.

Reads use InfluxQL over the v1 ``/query`` endpoint, served by InfluxDB 1.x,
2.x (through a DBRP mapping; ``trucban influx setup`` makes one) and 3.x. No
Flux anywhere. Timestamps are epoch seconds both ways.

Errors are sorted for the spool: the server unreachable, overloaded, or
refusing our credentials or database is :class:`StoreUnavailable` (keep the
samples, try again later); the server refusing the data itself (bad line, type
conflict) is :class:`StoreRejected` (retrying cannot help), raised after every
other batch of the call has been written.
"""

from __future__ import annotations

import gzip
import logging
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import httpx
from influxdb_client import InfluxDBClient, WriteOptions
from influxdb_client.client.write_api import SYNCHRONOUS, WriteApi
from influxdb_client.domain.write_precision import WritePrecision
from influxdb_client.rest import ApiException
from urllib3.exceptions import HTTPError as Urllib3Error

from common.retry import retrying
from store.base import (
    REACHABILITY,
    Aggregation,
    Availability,
    FieldValue,
    Point,
    Sample,
    StoreRejected,
    StoreUnavailable,
    check_aggregation,
)
from store.lineproto import LineFormatter

log = logging.getLogger(__name__)

REJECTED_STATUS = {400, 413, 422}  # the data itself; anything else is the server's state
_VERSION = re.compile(r"v?(\d+)\.(\d+)")


class _TryAgain(Exception):
    """A v1 write failed in a way another attempt may fix (unreachable, overloaded); carries the error."""

    def __init__(self, failure: StoreUnavailable) -> None:
        super().__init__(str(failure))
        self.failure = failure


def quote_ident(name: str) -> str:
    """An InfluxQL identifier (measurement, tag, field, database) in double quotes."""
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def quote_string(value: str) -> str:
    """An InfluxQL string literal in single quotes."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def api_for_version(version: str | None) -> str:
    """``v1`` for InfluxDB before 1.8 (no ``/api/v2/write``), else ``v2``."""
    found = _VERSION.match(version or "")
    if found and (int(found[1]), int(found[2])) < (1, 8):
        return "v1"
    return "v2"


class InfluxMetricStore:
    """A :class:`store.base.MetricStore` on an InfluxDB-protocol server."""

    def __init__(
        self,
        url: str,
        *,
        token: str | None = None,
        org: str = "trucban",
        bucket: str = "trucban",
        database: str | None = None,
        retention_policy: str | None = None,
        api: str = "auto",
        batch_size: int = 5000,
        timeout_s: float = 10.0,
        max_retries: int = 3,
        retry_interval_s: float = 0.5,
        max_retry_time_s: float = 20.0,
        gzip_level: int = 1,
    ) -> None:
        if api not in {"auto", "v1", "v2"}:
            raise ValueError(f"api must be auto, v1 or v2 (got {api!r})")
        self.url = url.rstrip("/")
        self.org = org
        self.bucket = bucket
        self.database = database or bucket.split("/")[0]
        self.retention_policy = retention_policy
        self.batch_size = batch_size
        self.gzip_level = gzip_level
        self.max_retries = max_retries
        self.retry_interval_s = retry_interval_s
        self.max_retry_time_s = max_retry_time_s
        self._api = None if api == "auto" else api
        self._token = token
        self._format = LineFormatter()
        self._http = httpx.Client(timeout=timeout_s, **_auth(token))
        retries = WriteOptions(max_retries=max_retries, retry_interval=int(retry_interval_s * 1000),
                               max_retry_delay=int(max_retry_time_s * 1000 / 2),
                               max_retry_time=int(max_retry_time_s * 1000),
                               exponential_base=2).to_retry_strategy()
        # influxdb-client sends "Token <token>"; InfluxDB 1.8+ takes "user:password" there too.
        self._client = InfluxDBClient(url=self.url, token=token or "", org=org, enable_gzip=True,
                                      timeout=int(timeout_s * 1000), retries=retries)
        self._writer: WriteApi = self._client.write_api(write_options=SYNCHRONOUS)

    # -- server --------------------------------------------------------------------------------

    def ping(self) -> str:
        """The server's version (``X-Influxdb-Version``, '' when it sends none); raise when down."""
        response = self.request("GET", "/ping")
        if response.status_code >= 400:
            raise StoreUnavailable(f"InfluxDB at {self.url} answered /ping with {response.status_code}")
        return response.headers.get("X-Influxdb-Version", "")

    @property
    def api(self) -> str:
        """Write API in use: ``v2`` or ``v1`` (asks the server once when set to auto)."""
        if self._api is None:
            version = self.ping()
            self._api = api_for_version(version)
            log.info("InfluxDB at %s is version %s: writing through the %s API", self.url,
                     version or "(not told)", self._api)
        return self._api

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Any other HTTP call on the server with the store's credentials (setup uses the v2 API)."""
        try:
            return self._http.request(method, self.url + path, **kwargs)
        except httpx.HTTPError as exc:
            raise StoreUnavailable(f"InfluxDB at {self.url} unreachable: {_reason(exc)}") from None

    # -- writes --------------------------------------------------------------------------------

    def write(self, samples: Sequence[Sample]) -> None:
        """Write every sample in batches; see the module doc for the errors raised."""
        post = self._post_v2 if self.api == "v2" else self._post_v1
        rejected: list[Sample] = []
        reasons: list[str] = []
        for start in range(0, len(samples), self.batch_size):
            chunk = samples[start:start + self.batch_size]
            lines = self._format.lines(chunk)
            if not lines:
                continue
            try:
                post("\n".join(lines).encode())
            except StoreRejected as exc:
                rejected += chunk
                reasons.append(str(exc))
        if rejected:
            raise StoreRejected("; ".join(reasons), rejected)

    def _post_v2(self, body: bytes) -> None:
        try:
            self._writer.write(self.bucket, self.org, body, write_precision=WritePrecision.S)  # type: ignore[arg-type]
        except ApiException as exc:
            message = f"InfluxDB refused the write ({exc.status}): {_body_text(exc.body)}"
            if exc.status in REJECTED_STATUS:
                raise StoreRejected(message) from None
            raise StoreUnavailable(message) from None
        except (Urllib3Error, OSError) as exc:
            raise StoreUnavailable(f"InfluxDB at {self.url} unreachable: {_reason(exc)}") from None

    def _post_v1(self, body: bytes) -> None:
        payload = gzip.compress(body, self.gzip_level)
        try:
            for attempt in retrying(attempts=self.max_retries + 1, base_s=self.retry_interval_s,
                                    within_s=self.max_retry_time_s, retry_on=_TryAgain, jitter=1.0):
                with attempt:
                    self._post_v1_once(payload)
        except _TryAgain as exc:
            raise exc.failure from None

    def _post_v1_once(self, payload: bytes) -> None:
        """One gzip POST to ``/write``: :class:`_TryAgain` when asking again may help."""
        params = {"db": self.database, "precision": "s"}
        if self.retention_policy:
            params["rp"] = self.retention_policy
        headers = {"Content-Encoding": "gzip", "Content-Type": "text/plain; charset=utf-8"}
        try:
            response = self._http.post(self.url + "/write", params=params, content=payload, headers=headers)
        except httpx.HTTPError as exc:
            raise _TryAgain(StoreUnavailable(f"InfluxDB at {self.url} unreachable: {_reason(exc)}")) from None
        if response.status_code < 300:
            return
        message = f"InfluxDB refused the write ({response.status_code}): {response.text.strip()}"
        if response.status_code in REJECTED_STATUS:
            raise StoreRejected(message)
        if response.status_code < 429:  # 401/403/404: no point in asking again right now
            raise StoreUnavailable(message)
        raise _TryAgain(StoreUnavailable(message))

    # -- reads ---------------------------------------------------------------------------------

    def query(self, influxql: str, *, method: str = "GET", database: bool = True) -> list[dict[str, Any]]:
        """Run InfluxQL statements over ``/query``; the ``results`` list, errors raised."""
        params = {"q": influxql, "epoch": "s"}
        if database:
            params["db"] = self.database
            if self.retention_policy:
                params["rp"] = self.retention_policy
        if method == "GET":
            response = self.request("GET", "/query", params=params)
        else:
            response = self.request("POST", "/query", data=params)
        try:
            answer = response.json()
        except ValueError:
            answer = {}
        if response.status_code >= 400 or "error" in answer:
            error = answer.get("error") or response.text.strip()
            raise StoreUnavailable(f"InfluxDB query failed ({response.status_code}): {error}")
        results: list[dict[str, Any]] = answer.get("results", [])
        for result in results:
            if "error" in result:
                raise StoreRejected(f"InfluxDB query failed: {result['error']} (query: {influxql})")
        return results

    def _series(self, influxql: str) -> Iterator[tuple[dict[str, str], list[dict[str, FieldValue]]]]:
        """(tags, rows as column → value) of every series the one statement returns."""
        for result in self.query(influxql):
            for series in result.get("series", []):
                tags = {k: v for k, v in (series.get("tags") or {}).items() if v != ""}
                columns = series["columns"]
                yield tags, [dict(zip(columns, row, strict=True)) for row in series["values"]]

    def latest(self, measurement: str, where: Mapping[str, str] | None = None) -> list[Point]:
        """Newest row of every matching series (``ORDER BY time DESC LIMIT 1`` per series)."""
        q = (f"SELECT * FROM {quote_ident(measurement)}{_where(None, None, where)}"
             " GROUP BY * ORDER BY time DESC LIMIT 1")
        points = []
        for tags, rows in self._series(q):
            for row in rows:
                ts = row.pop("time")
                points.append(Point(int(ts), tags, {k: v for k, v in row.items() if v is not None}))
        return points

    def range(self, measurement: str, field_name: str, start: int, end: int,
              where: Mapping[str, str] | None = None) -> list[Point]:
        """Raw points of one field in [start, end], oldest first."""
        q = (f"SELECT {quote_ident(field_name)} FROM {quote_ident(measurement)}"
             f"{_where(start, end + 1, where)} GROUP BY *")
        points = [Point(int(row["time"]), tags, {field_name: row[field_name]})
                  for tags, rows in self._series(q) for row in rows if row[field_name] is not None]
        points.sort(key=lambda p: (p.ts, sorted(p.tags.items())))
        return points

    def aggregate(self, measurement: str, field_name: str, start: int, end: int, every: int,
                  fn: Aggregation = "mean", where: Mapping[str, str] | None = None,
                  group_by: Sequence[str] | None = None) -> list[Point]:
        """One point per window and group; see :meth:`store.base.MetricStore.aggregate`."""
        check_aggregation(fn, every)
        groups = "*" if group_by is None else ", ".join(quote_ident(t) for t in group_by)
        q = (f"SELECT {fn}({quote_ident(field_name)}) AS {quote_ident(fn)} FROM {quote_ident(measurement)}"
             f"{_where(start, end, where)} GROUP BY time({every}s){', ' + groups if groups else ''}"
             " fill(none)")
        points = [Point(int(row["time"]), tags, {fn: row[fn]})
                  for tags, rows in self._series(q) for row in rows if row[fn] is not None]
        points.sort(key=lambda p: (p.ts, sorted(p.tags.items())))
        return points

    def availability(self, start: int, end: int, by: str = "device",
                     where: Mapping[str, str] | None = None) -> dict[str, Availability]:
        """Reachability samples up/total in [start, end) per value of tag ``by``."""
        q = (f'SELECT sum("up") AS "up", count("up") AS "total" FROM {quote_ident(REACHABILITY)}'
             f"{_where(start, end, where)} GROUP BY {quote_ident(by)}")
        out = {}
        for tags, rows in self._series(q):
            key = tags.get(by)
            if key and rows:
                out[key] = Availability(key, int(rows[0]["up"] or 0), int(rows[0]["total"] or 0))
        return out

    def close(self) -> None:
        """Release the HTTP connections (writes are synchronous: nothing is pending)."""
        self._writer.close()
        self._client.close()
        self._http.close()


def _where(start: int | None, end: int | None, where: Mapping[str, str] | None) -> str:
    """`` WHERE …`` for [start, end) in epoch seconds and tag equalities ('' when none)."""
    clauses = []
    if start is not None:
        clauses.append(f"time >= {int(start)}s")
    if end is not None:
        clauses.append(f"time < {int(end)}s")
    clauses += [f"{quote_ident(k)} = {quote_string(v)}" for k, v in (where or {}).items()]
    return " WHERE " + " AND ".join(clauses) if clauses else ""


def _auth(token: str | None) -> dict[str, Any]:
    """httpx arguments for v1 endpoints: ``user:password`` is 1.x basic auth, else a v2 token."""
    if not token:
        return {}
    if ":" in token:
        user, password = token.split(":", 1)
        return {"auth": (user, password)}
    return {"headers": {"Authorization": f"Token {token}"}}


def _reason(exc: BaseException) -> str:
    """A short reason without URLs' query strings (they may carry u/p)."""
    text = str(exc)
    cause = re.search(r"\(Caused by (\w+)\(", text)
    if cause:
        text = cause[1] + (": connection refused" if "refused" in text else "")
    return re.sub(r"\?\S*", "", text)[:200]


def _body_text(body: object) -> str:
    text = body.decode(errors="replace") if isinstance(body, bytes) else str(body or "")
    return text.strip()[:300]
