"""Turn NETCONF ``<data>`` answers (ietf-interfaces, ietf-hardware, ietf-alarms) into samples.

Interface samples use the SNMP collector's measurement and fields (``snmp_if``:
``oper_status`` 1 = up, 2 = down …, octet and error counters, ``if_index`` tag),
so readers need not care which protocol produced them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

from store.base import FieldValue, Sample

IF_NS = "urn:ietf:params:xml:ns:yang:ietf-interfaces"
HW_NS = "urn:ietf:params:xml:ns:yang:ietf-hardware"
ALARM_NS = "urn:ietf:params:xml:ns:yang:ietf-alarms"
# IF-MIB ifOperStatus / ifAdminStatus numbers for the ietf-interfaces enumerations.
OPER_STATUS = {"up": 1, "down": 2, "testing": 3, "unknown": 4, "dormant": 5, "not-present": 6,
               "lower-layer-down": 7}
ADMIN_STATUS = {"up": 1, "down": 2, "testing": 3}
SEVERITY = {"cleared": 0, "indeterminate": 1, "warning": 2, "minor": 3, "major": 4, "critical": 5}
COUNTERS = {"in-octets": "in_octets", "out-octets": "out_octets", "in-errors": "in_errors",
            "out-errors": "out_errors", "in-discards": "in_discards", "out-discards": "out_discards"}

Element = Any  # lxml.etree._Element (lxml ships no type stubs here)
DecodeFn = Callable[[Element, dict[str, str], int], list[Sample]]


def _text(node: Element, path: str, ns: str) -> str | None:
    found = node.find(path.replace("x:", f"{{{ns}}}"))
    return found.text.strip() if found is not None and found.text is not None else None


def decode_interfaces(data: Element, tags: dict[str, str], ts: int) -> list[Sample]:
    """``snmp_if`` samples from NMDA ``interfaces`` or legacy ``interfaces-state``."""
    samples: list[Sample] = []
    nodes = data.findall(f".//{{{IF_NS}}}interface")
    for position, node in enumerate(nodes, start=1):
        fields: dict[str, FieldValue] = {}
        name = _text(node, "x:name", IF_NS)
        if name is None:
            continue
        fields["name"] = name
        if (oper := _text(node, "x:oper-status", IF_NS)) is not None:
            fields["oper_status"] = OPER_STATUS.get(oper, 4)
        if (admin := _text(node, "x:admin-status", IF_NS)) is not None:
            fields["admin_status"] = ADMIN_STATUS.get(admin, 3)
        if (speed := _text(node, "x:speed", IF_NS)) is not None and speed.isdigit():
            fields["high_speed_mbps"] = int(speed) // 1_000_000
        for leaf, field in COUNTERS.items():
            value = _text(node, f"x:statistics/x:{leaf}", IF_NS)
            if value is not None and value.isdigit():
                fields[field] = int(value)
        index = _text(node, "x:if-index", IF_NS) or str(position)
        samples.append(Sample("snmp_if", {**tags, "if_index": index}, fields, ts))
    return samples


def decode_hardware(data: Element, tags: dict[str, str], ts: int) -> list[Sample]:
    """``hardware`` samples: one per component, with sensor value and oper state when given."""
    samples: list[Sample] = []
    for node in data.findall(f".//{{{HW_NS}}}component"):
        name = _text(node, "x:name", HW_NS)
        if name is None:
            continue
        fields: dict[str, FieldValue] = {}
        cls = _text(node, "x:class", HW_NS)
        if cls:
            fields["class"] = cls.split(":")[-1]
        if (state := _text(node, "x:state/x:oper-state", HW_NS)) is not None:
            fields["oper_state"] = state
        value = _text(node, "x:sensor-data/x:value", HW_NS)
        if value is not None:
            with contextlib.suppress(ValueError):
                fields["sensor_value"] = int(value)
            fields["sensor_type"] = _text(node, "x:sensor-data/x:value-type", HW_NS) or ""
            fields["sensor_status"] = _text(node, "x:sensor-data/x:oper-status", HW_NS) or ""
        samples.append(Sample("hardware", {**tags, "component": name}, fields, ts))
    return samples


def decode_alarms(data: Element, tags: dict[str, str], ts: int) -> list[Sample]:
    """``alarm`` samples for active (not cleared) alarms, plus an ``alarm_summary`` count."""
    samples: list[Sample] = []
    active = 0
    for node in data.findall(f".//{{{ALARM_NS}}}alarm"):
        if (_text(node, "x:is-cleared", ALARM_NS) or "false") == "true":
            continue
        active += 1
        severity = _text(node, "x:perceived-severity", ALARM_NS) or "indeterminate"
        fields: dict[str, FieldValue] = {
            "resource": _text(node, "x:resource", ALARM_NS) or "",
            "severity": SEVERITY.get(severity, 1),
            "text": _text(node, "x:alarm-text", ALARM_NS) or "",
        }
        alarm_type = _text(node, "x:alarm-type-id", ALARM_NS) or "unknown"
        samples.append(Sample("alarm", {**tags, "alarm_type": alarm_type.split(":")[-1]}, fields, ts))
    samples.append(Sample("alarm_summary", tags, {"active": active}, ts))
    return samples


DECODERS: dict[str, DecodeFn] = {"interfaces": decode_interfaces, "hardware": decode_hardware,
                                 "alarms": decode_alarms}
