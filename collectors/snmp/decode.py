"""Turn SNMP answers (OID → pysnmp value) into samples, as the profile says."""

from __future__ import annotations

from typing import Any

from collectors.snmp.profile import Oid, Profile
from store.base import FieldValue, Sample

_ABSENT = {"NoSuchObject", "NoSuchInstance", "EndOfMibView"}


def value_of(val: Any) -> FieldValue | None:
    """Plain Python value of a pysnmp value; None for 'no such object'."""
    kind = type(val).__name__
    if kind in _ABSENT:
        return None
    if kind in {"OctetString", "IpAddress", "ObjectIdentifier", "Opaque", "Bits"}:
        return str(val.prettyPrint())
    return int(val)


def decode(profile: Profile, values: dict[Oid, Any], tags: dict[str, str], ts: int) -> list[Sample]:
    """Samples for every scalar measurement and every table row found."""
    samples: list[Sample] = []
    for measurement, fields in profile.scalars.items():
        got = {name: value_of(values[oid]) for name, oid in fields.items() if oid in values}
        kept = {k: v for k, v in got.items() if v is not None}
        if kept:
            samples.append(Sample(measurement, tags, kept, ts))
    for table in profile.tables:
        rows: dict[str, dict[str, FieldValue]] = {}
        for name, col in table.columns.items():
            for oid, val in values.items():
                if oid[: len(col)] == col and len(oid) > len(col):
                    value = value_of(val)
                    if value is not None:
                        index = ".".join(str(p) for p in oid[len(col):])
                        rows.setdefault(index, {})[name] = value
        for index, fields_ in sorted(rows.items(), key=lambda kv: [int(x) for x in kv[0].split(".")]):
            samples.append(Sample(table.measurement, {**tags, table.index_tag: index}, fields_, ts))
    return samples
