"""InfluxDB line protocol, formatted straight from samples (no Point objects).

Escaping follows the line-protocol reference: in the measurement, commas and
spaces; in tag keys, tag values and field keys, commas, equals signs and
spaces; in string field values, double quotes and backslashes. A backslash
elsewhere stays as it is (InfluxDB only unescapes the characters above).
Newlines become spaces everywhere (InfluxDB 1.x cannot carry them). Empty
tag values are left out (InfluxDB refuses them), and so are values no store
can keep (``store.base.storable``: NaN, ±inf, integers outside int64); a
sample with no field left is skipped. Integers carry the ``i`` suffix, so a
field keeps one type (a type conflict would make InfluxDB drop the point).
Timestamps are epoch seconds: write with precision ``s``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

from store.base import INT64_MAX, INT64_MIN, FieldValue, Sample

_MEASUREMENT = str.maketrans({",": r"\,", " ": r"\ ", "\n": r"\ "})
_KEY = str.maketrans({",": r"\,", "=": r"\=", " ": r"\ ", "\n": r"\ "})
_STRING = str.maketrans({'"': r"\"", "\\": "\\\\", "\n": " "})
_CACHE_LIMIT = 200_000


def escape_measurement(name: str) -> str:
    """A measurement name as line protocol wants it."""
    return name.translate(_MEASUREMENT)


def escape_key(text: str) -> str:
    """A tag key, tag value or field key as line protocol wants it."""
    return text.translate(_KEY)


def format_field(value: FieldValue) -> str | None:
    """One field value; None for a value no store keeps (NaN, ±inf, beyond int64)."""
    kind = type(value)
    if kind is float:
        return repr(value) if math.isfinite(value) else None  # type: ignore[arg-type]
    if kind is int:
        return f"{value}i" if INT64_MIN <= value <= INT64_MAX else None  # type: ignore[operator]
    if kind is bool:
        return "true" if value else "false"
    if kind is str:
        return '"' + value.translate(_STRING) + '"'  # type: ignore[union-attr]
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return format_field(int(value))
    if isinstance(value, float):
        return repr(float(value)) if math.isfinite(value) else None
    raise TypeError(f"field value {value!r} is not a float, int, bool or str")


class LineFormatter:
    """Formats samples into lines, remembering the escaped series prefix of each tag set."""

    def __init__(self) -> None:
        self._prefixes: dict[tuple, str] = {}
        self._field_keys: dict[str, str] = {}

    def prefix(self, measurement: str, tags: Mapping[str, str]) -> str:
        """``measurement,tag=value,…`` with tags in key order (InfluxDB's preferred order)."""
        key = (measurement, *tags.items())
        text = self._prefixes.get(key)
        if text is None:
            parts = [escape_measurement(measurement)]
            parts += [f"{escape_key(k)}={escape_key(v)}" for k, v in sorted(tags.items()) if v != ""]
            text = ",".join(parts)
            if len(self._prefixes) >= _CACHE_LIMIT:
                self._prefixes.clear()
            self._prefixes[key] = text
        return text

    def fields(self, fields: Mapping[str, FieldValue]) -> str:
        """``key=value,…``; empty when no field can be written."""
        keys = self._field_keys
        out = []
        for name, value in fields.items():
            formatted = format_field(value)
            if formatted is None:
                continue
            escaped = keys.get(name)
            if escaped is None:
                escaped = keys[name] = escape_key(name)
            out.append(f"{escaped}={formatted}")
        return ",".join(out)

    def line(self, sample: Sample) -> str | None:
        """One line (no newline), or None when the sample has nothing to write."""
        fields = self.fields(sample.fields)
        if not fields:
            return None
        return f"{self.prefix(sample.measurement, sample.tags)} {fields} {sample.ts}"

    def lines(self, samples: Iterable[Sample]) -> list[str]:
        """Lines for every writable sample, in order."""
        out = []
        for sample in samples:
            line = self.line(sample)
            if line is not None:
                out.append(line)
        return out
