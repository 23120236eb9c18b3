"""Checks across inventory records: duplicates, unknown references, cycles."""

from __future__ import annotations

from common.errors import Problem
from inventory.inventory import Inventory, Origin
from inventory.model import CommuneEntry, Device, Link, Site
from inventory.reference import Reference


def cross_check(
    *,
    province: str,
    reference: Reference,
    communes: list,
    sites: list,
    devices: list,
    links: list,
    credentials: dict,
    problems: list[Problem],
) -> Inventory | None:
    """Append every cross-record problem; return the Inventory if all is well."""
    origins: dict[tuple[str, str], Origin] = {}
    commune_map: dict[str, CommuneEntry] = _unique("communes", "code", communes, origins, problems)
    site_map: dict[str, Site] = _unique("sites", "id", sites, origins, problems)
    device_map: dict[str, Device] = _unique("devices", "id", devices, origins, problems)
    link_map: dict[str, Link] = _unique("links", "id", links, origins, problems)

    def report(rec_origin: tuple, field: str, value: object, message: str) -> None:
        _, origin, located, path = rec_origin
        line = located.line((*path, *field.split("."))) if path else origin.line
        problems.append(Problem(origin.file, line or origin.line, field, value, message))

    for item in communes:
        if item[0].code not in reference.communes:
            report(item, "code", item[0].code, "unknown commune code")
    for item in sites:
        if item[0].commune not in reference.communes:
            report(item, "commune", item[0].commune, "unknown commune code")
    for item in links:
        link = item[0]
        if link.commune not in reference.communes:
            report(item, "commune", link.commune, "unknown commune code")
        if link.device not in device_map:
            report(item, "device", link.device, "unknown device")
    for item in devices:
        dev = item[0]
        if dev.site not in site_map:
            report(item, "site", dev.site, "unknown site")
        for i, parent in enumerate(dev.parents):
            if parent not in device_map:
                report(item, f"parents.{i}", parent, "unknown parent device")
            elif parent == dev.id:
                report(item, f"parents.{i}", parent, "a device cannot be its own parent")
        if dev.snmp is not None and dev.snmp.credential not in credentials:
            report(item, "snmp.credential", dev.snmp.credential, "unknown credential reference")
        for block in ("netconf", "ssh"):
            access = getattr(dev, block)
            if access is None:
                continue
            for ref in ("credential", "enable_credential"):
                name = getattr(access, ref, None)
                if name is not None and name not in credentials:
                    report(item, f"{block}.{ref}", name, "unknown credential reference")
                elif name is not None and getattr(credentials[name], "kind", "login") != "login":
                    report(item, f"{block}.{ref}", name, "credential is not a login (kind: login)")
    by_id = {item[0].id: item for item in devices}
    for cycle in _cycles(device_map):
        report(by_id[cycle[0]], "parents", " → ".join(cycle), "dependency cycle")
    if problems:
        return None
    return Inventory(
        province=province,
        reference=reference,
        communes=commune_map,
        sites=site_map,
        devices=device_map,
        links=link_map,
        credentials=credentials,
        origins=origins,
    )


def _unique(kind: str, key: str, items: list, origins: dict, problems: list[Problem]) -> dict:
    out: dict = {}
    for rec, origin, _located, _path in items:
        ident = getattr(rec, key)
        if ident in out:
            first = origins[(kind, ident)]
            message = f"duplicate {kind[:-1]} {key} (first defined at {first.file}:{first.line})"
            problems.append(Problem(origin.file, origin.line, key, ident, message))
            continue
        out[ident] = rec
        origins[(kind, ident)] = origin
    return out


def _cycles(devices: dict[str, Device]) -> list[list[str]]:
    """Each dependency cycle once, as the list of ids around it."""
    WHITE, GREY, BLACK = 0, 1, 2
    colour = dict.fromkeys(devices, WHITE)
    found: list[list[str]] = []
    for start in devices:
        if colour[start] != WHITE:
            continue
        stack: list[tuple[str, int]] = [(start, 0)]
        path: list[str] = []
        while stack:
            node, idx = stack.pop()
            if idx == 0:
                colour[node] = GREY
                path.append(node)
            parents = [p for p in devices[node].parents if p in devices]
            if idx < len(parents):
                stack.append((node, idx + 1))
                nxt = parents[idx]
                if colour[nxt] == GREY:
                    found.append(path[path.index(nxt):] + [nxt])
                elif colour[nxt] == WHITE:
                    stack.append((nxt, 0))
            else:
                colour[node] = BLACK
                path.pop()
    return found
