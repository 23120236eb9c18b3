"""Grafana provisioning and dashboards: schema-level checks, and every InfluxQL query checked against the
measurements, tags and fields the real writer produces — statically, then run on a real InfluxDB holding
samples from the lab's poller and the DNS collector."""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import dns.message
import dns.rrset
import pytest
import yaml

from collectors.dns.collector import DnsCollector
from inventory.model import DnsProbeSpec
from poller.cycle import device_tags
from store.base import Sample
from store.influx import InfluxMetricStore
from tests.functional.conftest import RunningService, wait_for
from tests.functional.store_servers import InfluxServer, influxdb  # noqa: F401 - fixture

pytestmark = pytest.mark.functional
GRAFANA = Path(__file__).resolve().parents[2] / "deploy" / "grafana"
DASHBOARDS = sorted((GRAFANA / "dashboards").glob("*.json"))
DB = "trucban_grafana"
FROM = re.compile(r'FROM "([a-z0-9_]+)"')
FIELD = re.compile(r'\b(?:mean|max|min|last|sum|count)\("([a-z0-9_]+)"\)')
TAG_WHERE = re.compile(r'"([a-z0-9_]+)" =~')
GROUP_BY = re.compile(r"GROUP BY (.*?)(?: fill\(|$)")
WITH_KEY = re.compile(r'WITH KEY = "([a-z0-9_]+)"')
VARIABLE = re.compile(r"\$([A-Za-z_]+)")
BUILTIN = {"timeFilter", "__interval", "tag_"}


def test_provisioning_points_at_the_dashboards_and_datasource() -> None:
    ds = yaml.safe_load((GRAFANA / "provisioning/datasources/trucban-influxdb.yaml").read_text())
    (source,) = ds["datasources"]
    assert source["type"] == "influxdb" and source["uid"] == "trucban-influxdb"
    providers = yaml.safe_load((GRAFANA / "provisioning/dashboards/trucban.yaml").read_text())["providers"]
    assert providers[0]["type"] == "file" and providers[0]["options"]["path"]
    assert {p.stem for p in DASHBOARDS} == {"network-overview", "commune-detail", "bts-power", "dns"}


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.stem)
def test_dashboard_schema(path: Path) -> None:
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert doc["uid"].startswith("trucban-") and doc["title"] and doc["schemaVersion"] >= 30
    assert doc["timezone"] == "Asia/Ho_Chi_Minh"
    variables = {v["name"]: v for v in doc["templating"]["list"]}
    assert {"province", "device"} <= set(variables)
    for v in variables.values():
        assert (
            v["type"] == "query"
            and v["datasource"]["uid"] == "trucban-influxdb"
            and WITH_KEY.search(v["query"])
        )
    ids = [p["id"] for p in doc["panels"]]
    assert len(ids) == len(set(ids)) and ids
    for p in doc["panels"]:
        assert (
            p["datasource"]["uid"] == "trucban-influxdb"
            and p["targets"]
            and {"x", "y", "w", "h"} <= set(p["gridPos"])
        )
        for t in p["targets"]:
            assert t["rawQuery"] is True and t["query"].startswith("SELECT ")
            used = {v for v in VARIABLE.findall(t["query"]) if not any(v.startswith(b) for b in BUILTIN)}
            assert used <= set(variables), (path.stem, p["title"], used)


def dns_samples(inventory, port: int) -> list[Sample]:  # type: ignore[no-untyped-def]
    """What the DNS collector writes for one server answering on 127.0.0.1:port."""
    device = next(d for d in inventory.devices.values() if d.role.value == "dns")
    spec = DnsProbeSpec(zone="tslcd.test", ipv4="127.0.0.1", port=port, tcp=False, timeout_s=1.0)
    device = device.model_copy(update={"dns": spec})
    result = asyncio.run(DnsCollector().poll(device, device_tags(inventory, device)))
    return result.samples


@pytest.fixture(scope="module")
def dns_server() -> Iterator[int]:
    """A tiny authoritative DNS server (UDP, 127.0.0.1) for the zone tslcd.test."""
    import socket

    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                data, peer = sock.recvfrom(4096)
            except OSError:
                continue
            query = dns.message.from_wire(data)
            answer = dns.message.make_response(query)
            q = query.question[0]
            text = {
                "SOA": "ns1.tslcd.test. admin.tslcd.test. 2026092101 3600 600 86400 300",
                "A": "10.31.9.53",
                "AAAA": "2001:db8::53",
                "NS": "ns1.tslcd.test.",
            }.get(dns.rdatatype.to_text(q.rdtype))
            if text:
                answer.answer.append(
                    dns.rrset.from_text(q.name, 300, "IN", dns.rdatatype.to_text(q.rdtype), text)
                )
            answer.flags |= dns.flags.AA
            sock.sendto(answer.to_wire(), peer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield sock.getsockname()[1]
    stop.set()
    thread.join(timeout=2)
    sock.close()


def test_queries_match_what_the_writer_produces(
    running: RunningService,
    influxdb: InfluxServer,  # noqa: F811
    dns_server: int,
) -> None:
    store = running.service.store
    wanted = ("reachability", "snmp_if", "ups", "poller")
    wait_for(
        lambda: (
            all(store.latest(m) for m in wanted)
            and any("in_util_pct" in p.fields for p in store.latest("snmp_if"))
        ),
        40,
    )  # rates: 2nd poll on
    now = int(time.time())
    samples = [Sample(m, p.tags, p.fields, now) for m in wanted for p in store.latest(m)]
    samples += dns_samples(running.service.inventory, dns_server)
    produced: dict[str, tuple[set[str], set[str]]] = {}
    for s in samples:
        tags, fields = produced.setdefault(s.measurement, (set(), set()))
        tags.update(s.tags)
        fields.update(s.fields)
    assert {"dns_probe", "dns_zone", "dns_ipv6"} <= set(produced)
    influxdb.query(f"CREATE DATABASE {DB}")
    influx = InfluxMetricStore(influxdb.url, database=DB, bucket=DB, api="v1")
    influx.write([Sample(s.measurement, s.tags, s.fields, s.ts - 120) for s in samples] + samples)  # rates
    influx.close()
    for path in DASHBOARDS:
        doc = json.loads(path.read_text(encoding="utf-8"))
        queries = [(f"variable {v['name']}", v["query"]) for v in doc["templating"]["list"]]
        queries += [(p["title"], t["query"]) for p in doc["panels"] for t in p["targets"]]
        for title, q in queries:
            (measurement,) = set(FROM.findall(q))
            assert measurement in produced, (path.stem, title, measurement)
            tags, fields = produced[measurement]
            group = GROUP_BY.search(q)
            used_tags = set(TAG_WHERE.findall(q)) | set(WITH_KEY.findall(q))
            used_tags |= set(re.findall(r'"([a-z0-9_]+)"', group.group(1))) if group else set()
            assert used_tags <= tags, (path.stem, title, used_tags - tags)
            assert set(FIELD.findall(q)) <= fields, (path.stem, title, set(FIELD.findall(q)) - fields)
            ran = (
                q.replace("$timeFilter", "time > now() - 1h")
                .replace("$__interval", "1m")
                .replace("$province", ".*")
                .replace("$commune", ".*")
                .replace("$device", ".*")
            )
            result = influxdb.query(ran, DB)["results"][0]
            assert "error" not in result and result.get("series"), (path.stem, title, ran, result)
