"""Device profiles: which OIDs a role or vendor needs, held as YAML data.

A profile lists scalars (one instance each) and tables (columns walked per
index). ``extends`` inherits another profile. ``classes`` puts measurements in
poll classes (``reachability``, ``health``, ``inventory``; unlisted ones are
``health``) so the scheduler can poll each class at its own interval. A table
may derive utilisation % from a counter's rate and a speed column.

A device's profile is its inventory ``snmp.profile`` if set, else the profile
whose ``sys_object_ids`` prefix matches the device's sysObjectID best (learned
from an earlier poll), else the most specific profile for its role. Adding a
vendor is a new YAML file, not code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from collectors.snmp.values import Oid
from common.errors import ConfigError, Problem
from inventory.model import Device
from inventory.sources import Located, read_yaml_models

DEFAULT_CLASS = "health"
POLL_CLASSES = ("reachability", "health", "inventory")

__all__ = ["Oid", "Profile", "Table", "Utilisation", "load_profiles", "parse_oid", "profile_for"]


def parse_oid(text: str) -> Oid:
    """'1.3.6.1' → (1, 3, 6, 1); raises ValueError on anything else."""
    parts = str(text).strip().lstrip(".").split(".")
    if len(parts) < 2 or not all(p.isdigit() for p in parts):
        raise ValueError(f"not a numeric OID: {text!r}")
    return tuple(int(p) for p in parts)


def _scalar_oid(text: str) -> str:
    if parse_oid(text)[-1] != 0:
        raise ValueError("a scalar OID must end in .0 (put other instances in a table)")
    return text


ScalarOid = Annotated[str, AfterValidator(_scalar_oid)]


class _UtilDoc(BaseModel):
    model_config = ConfigDict(extra="forbid")
    counter: str
    speed_mbps: str


class _TableDoc(BaseModel):
    model_config = ConfigDict(extra="forbid")
    index_tag: str = "index"
    columns: dict[str, str]
    utilisation: dict[str, _UtilDoc] = {}

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
    sys_object_ids: list[str] = []
    max_repetitions: int = Field(default=8, ge=1, le=100)
    classes: dict[str, list[str]] = {}
    scalars: dict[str, dict[str, ScalarOid]] = {}
    tables: dict[str, _TableDoc] = {}

    @field_validator("sys_object_ids")
    @classmethod
    def _prefixes(cls, value: list[str]) -> list[str]:
        for oid in value:
            parse_oid(oid)
        return value

    @field_validator("classes")
    @classmethod
    def _known_classes(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for name in value:
            if name not in POLL_CLASSES:
                raise ValueError(f"unknown poll class {name!r}; known: {', '.join(POLL_CLASSES)}")
        return value


@dataclass(frozen=True)
class Utilisation:
    """``field`` = rate of ``counter`` (octets/s) × 8 / (``speed_mbps`` × 10⁶) × 100."""

    field: str
    counter: str
    speed_mbps: str


@dataclass(frozen=True)
class Table:
    """One SNMP table to walk: its measurement, index tag and columns."""

    measurement: str
    index_tag: str
    columns: dict[str, Oid]
    utilisation: tuple[Utilisation, ...] = ()


@dataclass(frozen=True, eq=False)
class Profile:
    """Resolved profile (inheritance applied), ready for the collector."""

    name: str
    roles: tuple[str, ...]
    max_repetitions: int
    scalars: dict[str, dict[str, Oid]]
    tables: tuple[Table, ...]
    sys_object_ids: tuple[Oid, ...] = ()
    classes: dict[str, str] = field(default_factory=dict)  # measurement → poll class

    def class_of(self, measurement: str) -> str:
        """Poll class of a measurement (``health`` unless the profile says otherwise)."""
        return self.classes.get(measurement, DEFAULT_CLASS)

    def part(self, classes: frozenset[str] | None) -> Profile:
        """The profile reduced to the measurements of ``classes`` (None: everything)."""
        return self if classes is None else _part(self, classes)


@lru_cache(maxsize=1024)
def _part(profile: Profile, classes: frozenset[str]) -> Profile:
    scalars = {m: f for m, f in profile.scalars.items() if profile.class_of(m) in classes}
    tables = tuple(t for t in profile.tables if profile.class_of(t.measurement) in classes)
    return Profile(profile.name, profile.roles, profile.max_repetitions, scalars, tables,
                   profile.sys_object_ids, profile.classes)


def builtin_profile_dir() -> Path:
    """The profiles shipped with Trucban."""
    return Path(str(resources.files("collectors.snmp").joinpath("profiles")))


def load_profiles(*dirs: Path) -> dict[str, Profile]:
    """Load every ``*.yaml`` profile in ``dirs`` (later dirs override); all-or-nothing."""
    docs: dict[str, _ProfileDoc] = {}
    where: dict[str, Located] = {}
    problems: list[Problem] = []
    for located, doc in read_yaml_models(dirs or (builtin_profile_dir(),), _ProfileDoc, problems):
        docs[doc.name], where[doc.name] = doc, located
    for name, doc in docs.items():
        if doc.extends and doc.extends not in docs:
            loc = where[name]
            problems.append(Problem(loc.file, loc.line(("extends",)), "extends", doc.extends,
                                    "unknown parent profile"))
    if problems:
        raise ConfigError(problems, what="device profiles")
    return {name: _resolve(name, docs, where) for name in docs}


def _resolve(name: str, docs: dict[str, _ProfileDoc], where: dict[str, Located], depth: int = 0) -> Profile:
    doc = docs[name]
    if depth > 10:
        loc = where[name]
        raise ConfigError([Problem(loc.file, loc.line(("extends",)), "extends", doc.extends,
                                   "inheritance loop")], "device profiles")
    base = _resolve(doc.extends, docs, where, depth + 1) if doc.extends else None
    scalars = {m: dict(f) for m, f in base.scalars.items()} if base else {}
    for measurement, fields in doc.scalars.items():
        scalars.setdefault(measurement, {}).update({k: parse_oid(v) for k, v in fields.items()})
    tables = {t.measurement: t for t in base.tables} if base else {}
    for measurement, table in doc.tables.items():
        cols = {k: parse_oid(v) for k, v in table.columns.items()}
        utils = tuple(Utilisation(f, u.counter, u.speed_mbps) for f, u in table.utilisation.items())
        for util in utils:
            for needed in (util.counter, util.speed_mbps):
                if needed not in cols:
                    loc = where[name]
                    raise ConfigError([Problem(loc.file, loc.line(("tables", measurement, "utilisation")),
                                               f"tables.{measurement}.utilisation.{util.field}", needed,
                                               "not a column of this table")], "device profiles")
        tables[measurement] = Table(measurement, table.index_tag, cols, utils)
    classes = dict(base.classes) if base else {}
    for poll_class, measurements in doc.classes.items():
        classes.update({m: poll_class for m in measurements})
    prefixes = tuple(parse_oid(o) for o in doc.sys_object_ids) or (base.sys_object_ids if base else ())
    roles = tuple(doc.roles) or (base.roles if base else ())
    return Profile(name, roles, doc.max_repetitions, scalars, tuple(tables.values()), prefixes, classes)


def profile_for(device: Device, profiles: dict[str, Profile], sys_object_id: Oid | None = None) -> Profile:
    """The device's named profile, else the best sysObjectID match, else the most specific for its role."""
    if device.snmp is not None and device.snmp.profile:
        try:
            return profiles[device.snmp.profile]
        except KeyError:
            raise KeyError(f"{device.id}: unknown SNMP profile {device.snmp.profile!r}") from None
    if sys_object_id:
        best: tuple[int, Profile] | None = None
        for profile in profiles.values():
            for prefix in profile.sys_object_ids:
                if sys_object_id[: len(prefix)] == prefix and (best is None or len(prefix) > best[0]):
                    best = (len(prefix), profile)
        if best is not None:
            return best[1]
    candidates = [p for p in profiles.values() if device.role.value in p.roles and not p.sys_object_ids]
    if not candidates:
        raise KeyError(f"{device.id}: no SNMP profile for role {device.role.value!r}")
    return min(candidates, key=lambda p: (len(p.roles), p.name))
