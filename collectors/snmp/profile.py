"""Device profiles: which OIDs a role or vendor needs, held as YAML data.

A profile lists scalars (one instance each) and tables (columns walked per
index). ``extends`` inherits another profile. Profiles are picked by the
device's ``snmp.profile`` or, failing that, by its role.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from inventory.model import Device
from inventory.sources import DocumentError, problems_from_validation, read_yaml
from trucban.errors import ConfigError, Problem

Oid = tuple[int, ...]


def parse_oid(text: str) -> Oid:
    """'1.3.6.1' → (1, 3, 6, 1); raises ValueError on anything else."""
    parts = text.strip().lstrip(".").split(".")
    if len(parts) < 2 or not all(p.isdigit() for p in parts):
        raise ValueError(f"not a numeric OID: {text!r}")
    return tuple(int(p) for p in parts)


class _TableDoc(BaseModel):
    model_config = ConfigDict(extra="forbid")
    index_tag: str = "index"
    columns: dict[str, str]

    @field_validator("columns")
    @classmethod
    def _oids(cls, value: dict[str, str]) -> dict[str, str]:
        for oid in value.values():
            parse_oid(str(oid))
        return value


class _ProfileDoc(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    extends: str | None = None
    roles: list[str] = []
    max_repetitions: int = Field(default=8, ge=1, le=100)
    scalars: dict[str, dict[str, str]] = {}
    tables: dict[str, _TableDoc] = {}

    @field_validator("scalars")
    @classmethod
    def _scalar_oids(cls, value: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
        for fields in value.values():
            for oid in fields.values():
                parse_oid(str(oid))
        return value


@dataclass(frozen=True)
class Table:
    """One SNMP table to walk: its measurement, index tag and columns."""

    measurement: str
    index_tag: str
    columns: dict[str, Oid]


@dataclass(frozen=True)
class Profile:
    """Resolved profile (inheritance applied), ready for the collector."""

    name: str
    roles: tuple[str, ...]
    max_repetitions: int
    scalars: dict[str, dict[str, Oid]]
    tables: tuple[Table, ...]


def builtin_profile_dir() -> Path:
    """The profiles shipped with Trucban."""
    return Path(str(resources.files("collectors.snmp").joinpath("profiles")))


def load_profiles(*dirs: Path) -> dict[str, Profile]:
    """Load every ``*.yaml`` profile in ``dirs`` (later dirs override); all-or-nothing."""
    docs: dict[str, _ProfileDoc] = {}
    problems: list[Problem] = []
    for directory in dirs or (builtin_profile_dir(),):
        for path in sorted(Path(directory).glob("*.yaml")):
            try:
                located = read_yaml(path)
                docs[located.data.get("name", path.stem)] = _ProfileDoc.model_validate(located.data)
            except DocumentError as exc:
                problems.append(exc.problem)
            except ValidationError as exc:
                problems += problems_from_validation(exc, located)
    for doc in docs.values():
        if doc.extends and doc.extends not in docs:
            problems.append(Problem(doc.name, None, "extends", doc.extends, "unknown parent profile"))
    if problems:
        raise ConfigError(problems, what="device profiles")
    return {name: _resolve(name, docs) for name in docs}


def _resolve(name: str, docs: dict[str, _ProfileDoc], depth: int = 0) -> Profile:
    doc = docs[name]
    if depth > 10:
        loop = Problem(name, None, "extends", doc.extends, "inheritance loop")
        raise ConfigError([loop], "device profiles")
    base = _resolve(doc.extends, docs, depth + 1) if doc.extends else None
    scalars = {m: dict(f) for m, f in base.scalars.items()} if base else {}
    for measurement, fields in doc.scalars.items():
        scalars.setdefault(measurement, {}).update({k: parse_oid(v) for k, v in fields.items()})
    tables = {t.measurement: t for t in base.tables} if base else {}
    for measurement, table in doc.tables.items():
        cols = {k: parse_oid(v) for k, v in table.columns.items()}
        tables[measurement] = Table(measurement, table.index_tag, cols)
    return Profile(name, tuple(doc.roles), doc.max_repetitions, scalars, tuple(tables.values()))


def profile_for(device: Device, profiles: dict[str, Profile]) -> Profile:
    """The device's named profile, else the most specific one for its role."""
    if device.snmp is not None and device.snmp.profile:
        try:
            return profiles[device.snmp.profile]
        except KeyError:
            raise KeyError(f"{device.id}: unknown SNMP profile {device.snmp.profile!r}") from None
    candidates = [p for p in profiles.values() if device.role.value in p.roles]
    if not candidates:
        raise KeyError(f"{device.id}: no SNMP profile for role {device.role.value!r}")
    return min(candidates, key=lambda p: len(p.roles))
