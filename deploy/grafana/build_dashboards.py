# ruff: noqa: E501 - long InfluxQL strings read better unbroken
"""Regenerates deploy/grafana/dashboards/*.json (InfluxQL, template variables province/commune/device).

    python deploy/grafana/build_dashboards.py

The JSON files are what Grafana provisions; this script is how they are written. Queries use only the
measurements, tags and fields of store/SCHEMA.md; tests/functional/test_grafana_dashboards.py runs them on a
real InfluxDB holding what the poller and the DNS collector write.
"""

import json
from pathlib import Path

DS = {"type": "influxdb", "uid": "trucban-influxdb"}
OUT = Path(__file__).resolve().parent / "dashboards"


def var(name, label, query, multi=True):
    return {
        "name": name,
        "label": label,
        "type": "query",
        "datasource": DS,
        "query": query,
        "refresh": 1,
        "multi": multi,
        "includeAll": True,
        "allValue": ".*",
        "sort": 1,
        "current": {"text": "All", "value": "$__all"},
    }


PROVINCE = var("province", "Tỉnh/thành", 'SHOW TAG VALUES FROM "reachability" WITH KEY = "province"')
COMMUNE = var(
    "commune",
    "Xã/phường",
    'SHOW TAG VALUES FROM "reachability" WITH KEY = "commune" WHERE "province" =~ /^$province$/',
)
DEVICE = var(
    "device",
    "Thiết bị",
    'SHOW TAG VALUES FROM "reachability" WITH KEY = "device" WHERE "province" =~ /^$province$/ '
    'AND "commune" =~ /^$commune$/',
)
WHERE = (
    '"province" =~ /^$province$/ AND "commune" =~ /^$commune$/ AND "device" =~ /^$device$/ AND $timeFilter'
)


def panel(pid, title, queries, unit="short", kind="timeseries", x=0, y=0, w=12, h=8, desc=""):
    return {
        "id": pid,
        "type": kind,
        "title": title,
        "description": desc,
        "datasource": DS,
        "gridPos": {"x": x, "y": y, "w": w, "h": h},
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "targets": [
            {
                "refId": chr(65 + i),
                "datasource": DS,
                "rawQuery": True,
                "resultFormat": "time_series",
                "query": q,
                "alias": alias,
            }
            for i, (q, alias) in enumerate(queries)
        ],
    }


def dashboard(uid, title, panels, variables, tags):
    return {
        "uid": uid,
        "title": title,
        "tags": ["trucban", *tags],
        "timezone": "Asia/Ho_Chi_Minh",
        "schemaVersion": 39,
        "version": 1,
        "editable": False,
        "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "templating": {"list": variables},
        "panels": panels,
        "annotations": {"list": []},
        "links": [],
    }


overview = dashboard(
    "trucban-overview",
    "Trucban — Tổng quan mạng",
    [
        panel(
            1,
            "Khả dụng (%)",
            [
                (
                    f'SELECT mean("up") * 100 FROM "reachability" WHERE {WHERE} '
                    'GROUP BY time($__interval), "province" fill(none)',
                    "$tag_province",
                )
            ],
            unit="percent",
            desc="Tỉ lệ lần thăm dò có trả lời",
        ),
        panel(
            2,
            "Thiết bị trả lời theo loại",
            [
                (
                    f'SELECT sum("up") FROM "reachability" WHERE {WHERE} '
                    'GROUP BY time($__interval), "role" fill(none)',
                    "$tag_role",
                )
            ],
            x=12,
        ),
        panel(
            3,
            "Độ trễ (ms) theo loại",
            [
                (
                    f'SELECT mean("latency_ms") FROM "reachability" WHERE {WHERE} '
                    'GROUP BY time($__interval), "role" fill(none)',
                    "$tag_role",
                )
            ],
            unit="ms",
            y=8,
        ),
        panel(
            4,
            "Chu kỳ thăm dò (s)",
            [
                (
                    'SELECT max("duration_s") FROM "poller" WHERE $timeFilter '
                    'GROUP BY time($__interval), "plan" fill(none)',
                    "$tag_plan",
                )
            ],
            unit="s",
            x=12,
            y=8,
        ),
        panel(
            5,
            "Thăm dò trễ, hết thời gian chờ, lỗi",
            [
                (
                    'SELECT sum("late_polls") FROM "poller" WHERE $timeFilter GROUP BY time($__interval), "plan" fill(none)',
                    "trễ $tag_plan",
                ),
                (
                    'SELECT sum("timeouts") FROM "poller" WHERE $timeFilter GROUP BY time($__interval), "plan" fill(none)',
                    "hết giờ $tag_plan",
                ),
                (
                    'SELECT sum("errors") FROM "poller" WHERE $timeFilter GROUP BY time($__interval), "plan" fill(none)',
                    "lỗi $tag_plan",
                ),
            ],
            y=16,
            w=24,
        ),
    ],
    [PROVINCE, COMMUNE, DEVICE],
    ["overview"],
)

commune = dashboard(
    "trucban-commune",
    "Trucban — Chi tiết xã/phường",
    [
        panel(
            1,
            "Trạng thái thiết bị (1 = trả lời)",
            [
                (
                    f'SELECT last("up") FROM "reachability" WHERE {WHERE} '
                    'GROUP BY time($__interval), "device" fill(none)',
                    "$tag_device",
                )
            ],
            kind="state-timeline",
            w=24,
        ),
        panel(
            2,
            "Độ trễ (ms)",
            [
                (
                    f'SELECT mean("latency_ms") FROM "reachability" WHERE {WHERE} '
                    'GROUP BY time($__interval), "device" fill(none)',
                    "$tag_device",
                )
            ],
            unit="ms",
            y=8,
        ),
        panel(
            3,
            "Sử dụng giao diện (%)",
            [
                (
                    f'SELECT mean("in_util_pct") FROM "snmp_if" WHERE {WHERE} GROUP BY time($__interval), "device", '
                    '"if_index" fill(none)',
                    "vào $tag_device/$tag_if_index",
                ),
                (
                    f'SELECT mean("out_util_pct") FROM "snmp_if" WHERE {WHERE} GROUP BY time($__interval), "device", '
                    '"if_index" fill(none)',
                    "ra $tag_device/$tag_if_index",
                ),
            ],
            unit="percent",
            x=12,
            y=8,
        ),
        panel(
            4,
            "Trạng thái đường truyền (1 = lên, 2 = xuống)",
            [
                (
                    f'SELECT last("oper_status") FROM "snmp_if" WHERE {WHERE} GROUP BY time($__interval), "device", '
                    '"if_index" fill(none)',
                    "$tag_device/$tag_if_index",
                )
            ],
            kind="state-timeline",
            y=16,
        ),
        panel(
            5,
            "Lỗi giao diện",
            [
                (
                    f'SELECT non_negative_derivative(max("in_errors"), 1m) FROM "snmp_if" WHERE {WHERE} '
                    'GROUP BY time($__interval), "device", "if_index" fill(none)',
                    "vào $tag_device/$tag_if_index",
                )
            ],
            x=12,
            y=16,
        ),
    ],
    [PROVINCE, COMMUNE, DEVICE],
    ["commune"],
)

bts = dashboard(
    "trucban-bts-power",
    "Trucban — Nguồn trạm BTS",
    [
        panel(
            1,
            "Dung lượng ắc quy (%)",
            [
                (
                    f'SELECT last("charge_pct") FROM "ups" WHERE {WHERE} '
                    'GROUP BY time($__interval), "device" fill(none)',
                    "$tag_device",
                )
            ],
            unit="percent",
        ),
        panel(
            2,
            "Thời gian còn lại (phút)",
            [
                (
                    f'SELECT last("minutes_remaining") FROM "ups" WHERE {WHERE} '
                    'GROUP BY time($__interval), "device" fill(none)',
                    "$tag_device",
                )
            ],
            unit="m",
            x=12,
        ),
        panel(
            3,
            "Nguồn cấp (3 = điện lưới, 5 = ắc quy)",
            [
                (
                    f'SELECT last("output_source") FROM "ups" WHERE {WHERE} '
                    'GROUP BY time($__interval), "device" fill(none)',
                    "$tag_device",
                )
            ],
            kind="state-timeline",
            y=8,
        ),
        panel(
            4,
            "Thời gian chạy ắc quy (s)",
            [
                (
                    f'SELECT max("seconds_on_battery") FROM "ups" WHERE {WHERE} '
                    'GROUP BY time($__interval), "device" fill(none)',
                    "$tag_device",
                )
            ],
            unit="s",
            x=12,
            y=8,
        ),
        panel(
            5,
            "Trạng thái ắc quy (2 = bình thường, 3 = yếu)",
            [
                (
                    f'SELECT last("battery_status") FROM "ups" '
                    f"WHERE {WHERE} GROUP BY time($__interval), "
                    '"device" fill(none)',
                    "$tag_device",
                )
            ],
            y=16,
            w=24,
        ),
    ],
    [PROVINCE, COMMUNE, DEVICE],
    ["bts", "power"],
)

DNS_WHERE = '"province" =~ /^$province$/ AND "device" =~ /^$device$/ AND $timeFilter'
DNS_DEVICE = var(
    "device",
    "Máy chủ DNS",
    'SHOW TAG VALUES FROM "dns_probe" WITH KEY = "device" WHERE "province" =~ /^$province$/',
)
dns = dashboard(
    "trucban-dns",
    "Trucban — DNS",
    [
        panel(
            1,
            "Truy vấn trả lời (ok là trường boolean: last)",
            [
                (
                    f'SELECT last("ok") FROM "dns_probe" WHERE {DNS_WHERE} '
                    'GROUP BY time($__interval), "device", "family", "transport", "qtype" fill(none)',
                    "$tag_device $tag_qtype $tag_transport/$tag_family",
                )
            ],
            kind="state-timeline",
        ),
        panel(
            2,
            "Độ trễ truy vấn (ms)",
            [
                (
                    f'SELECT mean("latency_ms") FROM "dns_probe" WHERE {DNS_WHERE} '
                    'GROUP BY time($__interval), "device", "transport", "family" fill(none)',
                    "$tag_device $tag_transport/$tag_family",
                )
            ],
            unit="ms",
            x=12,
        ),
        panel(
            3,
            "Độ lệch số serial SOA",
            [
                (
                    f'SELECT last("serial_lag") FROM "dns_zone" WHERE {DNS_WHERE} '
                    'GROUP BY time($__interval), "device", "zone" fill(none)',
                    "$tag_device $tag_zone",
                )
            ],
            y=8,
        ),
        panel(
            4,
            "Sẵn sàng IPv6 (1 = có)",
            [
                (
                    f'SELECT last("reachable_ipv6") FROM "dns_ipv6" WHERE {DNS_WHERE} GROUP BY time($__interval), '
                    '"device" fill(none)',
                    "qua IPv6 $tag_device",
                ),
                (
                    f'SELECT last("answers_aaaa") FROM "dns_ipv6" WHERE {DNS_WHERE} GROUP BY time($__interval), '
                    '"device" fill(none)',
                    "AAAA $tag_device",
                ),
            ],
            kind="state-timeline",
            x=12,
            y=8,
        ),
    ],
    [PROVINCE, DNS_DEVICE],
    ["dns"],
)

for name, doc in (
    ("network-overview", overview),
    ("commune-detail", commune),
    ("bts-power", bts),
    ("dns", dns),
):
    (OUT / f"{name}.json").write_text(json.dumps(doc, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
print("ok")
