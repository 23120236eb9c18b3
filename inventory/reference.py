"""Commune reference data for all of Vietnam (34 provinces, 3,321 communes).

Shipped as ``inventory/data/communes.csv``, generated from the MIT-licensed
``vietnamadminunits`` package by ``python -m lab.tools.gen_communes``; keyed on
official unit codes.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from importlib import resources

from inventory.model import CommuneKind


@dataclass(frozen=True, slots=True)
class CommuneRef:
    """One commune-level unit: code, Vietnamese name, type and reference point."""

    province_code: str
    province_name: str
    code: str
    name: str
    kind: CommuneKind
    lat: float
    lon: float


@dataclass(frozen=True)
class Reference:
    """All communes by code, and province names by province code."""

    communes: dict[str, CommuneRef]
    provinces: dict[str, str]

    def in_province(self, province_code: str) -> list[CommuneRef]:
        """Communes of one province, ordered by code."""
        return [c for c in self.communes.values() if c.province_code == province_code]


@cache
def load_reference() -> Reference:
    """Read the shipped CSV once per process."""
    communes: dict[str, CommuneRef] = {}
    provinces: dict[str, str] = {}
    text = resources.files("inventory").joinpath("data/communes.csv").read_text("utf-8")
    for row in csv.DictReader(text.splitlines()):
        ref = CommuneRef(
            province_code=row["province_code"],
            province_name=row["province_name"],
            code=row["code"],
            name=row["name"],
            kind=CommuneKind(row["kind"]),
            lat=float(row["lat"]),
            lon=float(row["lon"]),
        )
        communes[ref.code] = ref
        provinces[ref.province_code] = ref.province_name
    return Reference(communes=communes, provinces=provinces)
