"""Load an inventory (YAML, plus optional CSV for bulk sites/devices) all-or-nothing.

Every problem found is collected with its file, line, field and value; if there
is any, :class:`common.errors.InventoryError` is raised and nothing is loaded.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from common.errors import InventoryError, Problem
from inventory.credentials import load_credentials
from inventory.inventory import Inventory, Origin
from inventory.model import Device, InventoryFile, Site
from inventory.reference import load_reference
from inventory.sources import DocumentError, Located, problems_from_validation, read_csv, read_yaml_model
from inventory.validate import cross_check

Records = list[tuple[Any, Origin, Located, tuple[str | int, ...]]]


def load_inventory(path: Path, env: Mapping[str, str] | None = None) -> Inventory:
    """Read, validate and cross-check an inventory; raise InventoryError on any problem."""
    path = Path(path)
    located, doc, found = read_yaml_model(path, InventoryFile)
    if located is None or doc is None:
        raise InventoryError(found)

    problems: list[Problem] = []
    base = path.parent
    sites = _from_yaml(doc.sites, "sites", located)
    devices = _from_yaml(doc.devices, "devices", located)
    if doc.sites_csv:
        sites += _from_csv(base / doc.sites_csv, Site, problems)
    if doc.devices_csv:
        devices += _from_csv(base / doc.devices_csv, Device, problems)
    credentials: dict = {}
    if doc.credentials_file:
        credentials, cred_problems = load_credentials(base / doc.credentials_file, env)
        problems += cred_problems

    reference = load_reference()
    if doc.province not in reference.provinces:
        problems.append(Problem(located.file, located.line(("province",)), "province",
                                doc.province, "unknown province code"))
    inv = cross_check(
        province=doc.province,
        reference=reference,
        communes=_from_yaml(doc.communes, "communes", located),
        sites=sites,
        devices=devices,
        links=_from_yaml(doc.links, "links", located),
        credentials=credentials,
        problems=problems,
    )
    if problems:
        raise InventoryError(problems)
    assert inv is not None
    return inv


def _from_yaml(records: tuple[BaseModel, ...], key: str, located: Located) -> Records:
    return [
        (rec, Origin(located.file, located.line((key, i))), located, (key, i))
        for i, rec in enumerate(records)
    ]


def _from_csv(path: Path, model: type[BaseModel], problems: list[Problem]) -> Records:
    """Rows of a sites/devices CSV; ``snmp_*`` columns fold into the ``snmp`` block."""
    out: Records = []
    try:
        rows = list(read_csv(path))
    except DocumentError as exc:
        problems.append(exc.problem)
        return out
    for line, row in rows:
        located = Located(str(path), row, {(): line})
        snmp = {k.removeprefix("snmp_"): row.pop(k) for k in list(row) if k.startswith("snmp_")}
        if snmp:
            row["snmp"] = snmp  # type: ignore[assignment]
        try:
            rec = model.model_validate(row)
        except ValidationError as exc:
            problems.extend(problems_from_validation(exc, located))
            continue
        out.append((rec, Origin(str(path), line), located, ()))
    return out


__all__ = ["Inventory", "load_inventory"]
