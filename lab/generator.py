"""Generate a simulated network for a province: inventory files plus SNMP agent data.

Per commune: an HQ site with the access router and switch, and a BTS site with
the BTS and its power system (UPS-MIB). Per city: two core routers, one
aggregation router per ~20 communes, two DNS servers. Every device is an
snmpsim agent on one UDP port, told apart by its SNMP community (= device id).
With ``services`` (the demo) the lab also has what the other collectors poll,
served by :mod:`lab.services` on the ports after the SNMP port: the two DNS
servers answer for the lab zone (primary and secondary), two border routers
speak NETCONF only and the first communes keep an old switch with an SSH CLI
only. The output is an ordinary inventory, loadable by
:func:`inventory.loader.load_inventory`.
"""

from __future__ import annotations

import csv
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml

from inventory.reference import CommuneRef, load_reference
from lab.services import ServerSpec, ServicesSpec
from lab.snmpdata import write_snmprec

COMMUNES_PER_AGG = 20
OPERATORS = ("VNPT", "Viettel", "MobiFone")
DATA_VERSION = "1"
DEVICE_FIELDS = [
    "id", "name", "site", "role", "address", "snmp_credential", "snmp_port",
    "operator", "hardening_level", "parents",
]
LEGACY_COMMUNES = 2  # communes whose old SSH-only switch the demo keeps
ZONES = {"31": "tslcd.haiphong.vn", "01": "tslcd.hanoi.vn"}
LAB_USER = "trucban-lab"
PE_INTERFACES = ("xe-0/0/0", "xe-0/0/1", "ge-0/0/2", "ge-0/0/3")
Progress = Callable[[int, int], None]  # (done, total)


@dataclass(frozen=True)
class LabLayout:
    """Where a generated lab lives on disk."""

    root: Path

    @property
    def inventory(self) -> Path:
        """The inventory YAML to load."""
        return self.root / "inventory.yaml"

    @property
    def data_dir(self) -> Path:
        """snmpsim ``.snmprec`` files, one per device."""
        return self.root / "snmprec"

    @property
    def state_dir(self) -> Path:
        """Per-device staged state (JSON), read live by the agents."""
        return self.root / "state"

    @property
    def cache_dir(self) -> Path:
        """snmpsim's index cache; kept so later starts are warm."""
        return self.root / "cache"

    @property
    def services(self) -> Path:
        """What :mod:`lab.services` serves (absent when the lab has SNMP agents only)."""
        return self.root / "services.json"


@dataclass(frozen=True)
class _Dev:
    id: str
    name: str
    site: str
    role: str
    parents: tuple[str, ...]
    operator: str
    hardening: int | None
    if_names: tuple[str, ...]


def generate_lab(
    root: Path, province: str = "31", port: int = 16100, limit: int | None = None, *,
    services: bool = False, progress: Progress | None = None,
) -> LabLayout:
    """Write a lab for ``province`` under ``root``; reuse agent data already there.

    ``limit`` keeps only the first N communes (small labs for tests);
    ``services`` adds the DNS, NETCONF and SSH CLI devices (``services.json``);
    ``progress(done, total)`` hears about the agent data files.
    """
    layout = LabLayout(Path(root))
    ref = load_reference()
    communes = ref.in_province(province)[:limit]
    if not communes:
        raise ValueError(f"province {province!r}: no communes in the reference data")
    sites, devices = _city_core(province, communes[0])
    for index, commune in enumerate(communes):
        c_sites, c_devices = _commune(province, index, commune)
        sites += c_sites
        devices += c_devices
    layout.root.mkdir(parents=True, exist_ok=True)
    layout.state_dir.mkdir(exist_ok=True)
    _write_agents(layout, devices, progress)
    creds: dict[str, dict] = {f"snmp-{d.id}": {"kind": "snmp_v2c", "community": d.id} for d in devices}
    doc = _inventory_doc(province, communes)
    if services:
        spec = _services(layout, province, communes, port)
        spec.write(layout.services)
        doc["devices"] = _service_devices(province, communes, port, spec)
        creds["lab-login"] = {"kind": "login", "username": spec.username, "password": spec.password}
    else:
        layout.services.unlink(missing_ok=True)
    in_yaml = {d["id"] for d in doc.get("devices", [])}
    _write_csv(layout.root / "sites.csv", ["id", "name", "kind", "commune", "lat", "lon"], sites)
    _write_csv(layout.root / "devices.csv", DEVICE_FIELDS,
               [_device_row(d, port) for d in devices if d.id not in in_yaml])
    _write_yaml(layout.root / "credentials.yaml", {"credentials": creds})
    _write_yaml(layout.inventory, doc)
    return layout


def _services(layout: LabLayout, province: str, communes: list[CommuneRef], port: int) -> ServicesSpec:
    """DNS primary/secondary, two NETCONF border routers, legacy switches: one port each after ``port``."""
    p = f"p{province}"
    zone = ZONES.get(province, f"tslcd.t{province}.vn")
    servers = [ServerSpec("dns", f"{p}-dns1", port + 1, zone=zone),
               ServerSpec("dns", f"{p}-dns2", port + 2, zone=zone, primary_port=port + 1),
               ServerSpec("netconf", f"{p}-pe1", port + 3, interfaces=PE_INTERFACES),
               ServerSpec("netconf", f"{p}-pe2", port + 4, interfaces=PE_INTERFACES)]
    legacy = communes[:LEGACY_COMMUNES]
    servers += [ServerSpec("ssh", f"c{c.code}-sw0", port + 5 + i) for i, c in enumerate(legacy)]
    if servers[-1].port > 65535:
        raise ValueError(f"lab_port {port}: the lab services need ports up to {servers[-1].port}")
    password = None
    if layout.services.exists():  # keep the login of an earlier generation (a running lab uses it)
        try:
            password = ServicesSpec.read(layout.services).password
        except (OSError, ValueError, TypeError, KeyError):
            password = None
    return ServicesSpec(str(layout.state_dir.resolve()), str((layout.root / "keys").resolve()), LAB_USER,
                        password or secrets.token_urlsafe(12), tuple(servers))


def _service_devices(province: str, communes: list[CommuneRef], port: int,
                     spec: ServicesSpec) -> list[dict[str, object]]:
    """Inventory entries (YAML) of the devices :mod:`lab.services` serves."""
    p = f"p{province}"
    by_device = {s.device: s for s in spec.servers}
    out: list[dict[str, object]] = []
    for n, role_vi in ((1, "chính"), (2, "phụ")):
        s = by_device[f"{p}-dns{n}"]
        out.append({"id": s.device, "name": f"Máy chủ DNS {n} ({role_vi})", "site": f"{p}-dns", "role": "dns",
                    "address": "127.0.0.1", "snmp": {"credential": f"snmp-{s.device}", "port": port},
                    "operator": "VNPT", "parents": [f"{p}-core1", f"{p}-core2"],
                    "dns": {"zone": s.zone, "port": s.port, "ipv4": "127.0.0.1", "timeout_s": 1.0}})
    for n in (1, 2):
        s = by_device[f"{p}-pe{n}"]
        out.append({"id": s.device, "name": f"Router biên NETCONF {n}", "site": f"{p}-dc", "role": "router",
                    "address": "127.0.0.1", "icmp": False, "operator": "VNPT",
                    "netconf": {"credential": "lab-login", "port": s.port, "vendor": "ietf"},
                    "parents": [f"{p}-core1", f"{p}-core2"]})
    for c in communes[:LEGACY_COMMUNES]:
        s = by_device[f"c{c.code}-sw0"]
        out.append({"id": s.device, "name": f"Switch cũ (chỉ SSH) {c.name}", "site": f"c{c.code}-hq",
                    "role": "switch", "address": "127.0.0.1", "icmp": False, "operator": "VNPT",
                    "ssh": {"credential": "lab-login", "port": s.port, "platform": "cisco_ios"},
                    "parents": [f"c{c.code}-r1"]})
    return out


def _city_core(province: str, seat: CommuneRef) -> tuple[list[dict], list[_Dev]]:
    p = f"p{province}"
    sites = [
        _site(f"{p}-dc", "Trung tâm dữ liệu thành phố", "data_centre", seat, 0.0),
        _site(f"{p}-dns", "Trạm DNS thành phố", "dns_site", seat, 0.004),
    ]
    uplinks = ("core-1", "core-2")
    devices = [
        _Dev(f"{p}-core1", "Router lõi 1", f"{p}-dc", "router", (), "VNPT", None, uplinks),
        _Dev(f"{p}-core2", "Router lõi 2", f"{p}-dc", "router", (), "VNPT", None, uplinks),
        _Dev(f"{p}-dns1", "Máy chủ DNS 1", f"{p}-dns", "dns", (f"{p}-core1", f"{p}-core2"),
             "VNPT", None, ("eth0",)),
        _Dev(f"{p}-dns2", "Máy chủ DNS 2", f"{p}-dns", "dns", (f"{p}-core1", f"{p}-core2"),
             "VNPT", None, ("eth0",)),
    ]
    return sites, devices


def _commune(province: str, index: int, c: CommuneRef) -> tuple[list[dict], list[_Dev]]:
    p = f"p{province}"
    agg = f"{p}-agg{index // COMMUNES_PER_AGG + 1:02d}"
    extra: list[_Dev] = []
    if index % COMMUNES_PER_AGG == 0:
        extra.append(_Dev(agg, f"Router tập trung {index // COMMUNES_PER_AGG + 1}", f"{p}-dc",
                          "router", (f"{p}-core1", f"{p}-core2"), "VNPT", None,
                          ("core-1", "core-2") + tuple(f"down-{i}" for i in range(1, 5))))
    hq, bts = f"c{c.code}-hq", f"c{c.code}-bts"
    op = OPERATORS[index % len(OPERATORS)]
    r1 = f"c{c.code}-r1"
    sites = [_site(hq, f"Trụ sở UBND {c.name}", "commune_hq", c, 0.0),
             _site(bts, f"Trạm BTS {c.name}", "bts_site", c, 0.003)]
    devices = extra + [
        _Dev(r1, f"Router truy nhập {c.name}", hq, "router", (agg,), "VNPT", None,
             ("tslcd-fibre", "backup-4g", "lan", "bts")),
        _Dev(f"c{c.code}-sw1", f"Switch {c.name}", hq, "switch", (r1,), "VNPT", None,
             ("uplink", "port-2", "port-3", "port-4")),
        _Dev(f"c{c.code}-bts1", f"BTS {c.name}", bts, "bts", (r1,), op, 4,
             ("backhaul", "radio-1", "radio-2", "radio-3")),
        _Dev(f"c{c.code}-pwr1", f"Nguồn BTS {c.name}", bts, "power", (r1,), op, 4, ("mgmt",)),
    ]
    return sites, devices


def _site(ident: str, name: str, kind: str, c: CommuneRef, offset: float) -> dict:
    return {"id": ident, "name": name, "kind": kind, "commune": c.code,
            "lat": round(c.lat + offset, 5), "lon": round(c.lon + offset, 5)}


def _device_row(d: _Dev, port: int) -> dict:
    return {"id": d.id, "name": d.name, "site": d.site, "role": d.role, "address": "127.0.0.1",
            "snmp_credential": f"snmp-{d.id}", "snmp_port": port, "operator": d.operator,
            "hardening_level": "" if d.hardening is None else d.hardening,
            "parents": " ".join(d.parents)}


def _inventory_doc(province: str, communes: list[CommuneRef]) -> dict:
    entries = []
    links = []
    for i, c in enumerate(communes):
        entries.append({
            "code": c.code,
            "command_post": f"Ban Chỉ huy phòng thủ dân sự {c.name}",
            "contacts": [{"name": f"Trực ban {c.name}", "role": "trực ban",
                          "phone": f"+8490{i:07d}", "email": f"trucban.{c.code}@lab.invalid"}],
        })
        r1 = f"c{c.code}-r1"
        backup = "leo" if c.kind == "dac_khu" else "4g"
        links += [
            {"id": f"c{c.code}-primary", "device": r1, "if_index": 1, "kind": "primary",
             "medium": "fibre", "commune": c.code, "operator": "VNPT"},
            {"id": f"c{c.code}-backup", "device": r1, "if_index": 2, "kind": "backup",
             "medium": backup, "commune": c.code, "operator": "Viettel"},
        ]
    return {"province": province, "credentials_file": "credentials.yaml",
            "sites_csv": "sites.csv", "devices_csv": "devices.csv",
            "communes": entries, "links": links}


def _write_agents(layout: LabLayout, devices: list[_Dev], progress: Progress | None = None) -> None:
    """Write agent data only when missing or stale, so snmpsim's index stays warm."""
    layout.data_dir.mkdir(parents=True, exist_ok=True)
    stamp = layout.data_dir / ".version"
    fresh = stamp.exists() and stamp.read_text() == DATA_VERSION
    for seed, d in enumerate(devices):
        if progress is not None and seed % 20 == 0:
            progress(seed, len(devices))
        if fresh and (layout.data_dir / f"{d.id}.snmprec").exists():
            continue
        write_snmprec(layout.data_dir, d.id, d.role, sys_name=d.id, sys_descr=d.name,
                      if_names=list(d.if_names), seed=seed)
    stamp.write_text(DATA_VERSION)
    if progress is not None:
        progress(len(devices), len(devices))


def _write_csv(path: Path, fields: list[str], rows: list[dict]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)


def _write_yaml(path: Path, doc: dict) -> None:
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
