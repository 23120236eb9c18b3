"""Turn SNMP answers (OID → plain value) into samples, as the profile says.

Counters keep their :class:`~collectors.snmp.values.Counter32`/``Counter64``
type (they are ints) so the rate module knows their width.
"""

from __future__ import annotations

from collectors.snmp.profile import Profile
from collectors.snmp.values import Counter32, Counter64, Oid, Value, field_value
from store.base import FieldValue, Sample


def _field(val: Value) -> FieldValue | None:
    if isinstance(val, Counter32 | Counter64):
        return val
    return field_value(val)


def _index_key(index: str) -> list[int]:
    return [int(x) for x in index.split(".")]


def decode(profile: Profile, values: dict[Oid, Value], tags: dict[str, str], ts: int) -> list[Sample]:
    """Samples for every scalar measurement and every table row found."""
    samples: list[Sample] = []
    for measurement, fields in profile.scalars.items():
        kept: dict[str, FieldValue] = {}
        for name, oid in fields.items():
            if oid in values:
                value = _field(values[oid])
                if value is not None:
                    kept[name] = value
        if kept:
            samples.append(Sample(measurement, tags, kept, ts))
    if not profile.tables:
        return samples
    columns: dict[Oid, tuple[int, str]] = {}
    lengths: set[int] = set()
    for t_no, table in enumerate(profile.tables):
        for name, col in table.columns.items():
            columns[col] = (t_no, name)
            lengths.add(len(col))
    rows: list[dict[str, dict[str, FieldValue]]] = [{} for _ in profile.tables]
    for oid, val in values.items():
        for size in lengths:
            hit = columns.get(oid[:size]) if len(oid) > size else None
            if hit is not None:
                value = _field(val)
                if value is not None:
                    index = ".".join(map(str, oid[size:]))
                    rows[hit[0]].setdefault(index, {})[hit[1]] = value
                break
    for table, table_rows in zip(profile.tables, rows, strict=True):
        for index in sorted(table_rows, key=_index_key):
            samples.append(Sample(table.measurement, {**tags, table.index_tag: index}, table_rows[index], ts))
    return samples
