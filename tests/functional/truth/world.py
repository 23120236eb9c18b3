"""The watched world of a truth run: its own network shapes, written as a real inventory.

Shapes (all devices at 127.0.0.1, each on its own UDP port, SNMP v2c):

- city: two aggregation routers ``agg-a`` and ``agg-b`` at a data centre, two DNS
  servers ``dns-1`` and ``dns-2`` (role ``dns``, SNMP only) at a DNS site; all of
  them are city-level, so their incidents go to the NOC (setting ``noc_email``);
- per commune ``C`` (a real commune code of province 31, Hải Phòng), one command
  post with one e-mail contact, and a parent chain
  ``agg → cC-r`` (access router at the commune HQ) ``→ cC-sw`` (switch)
  ``→ cC-bts`` (BTS at the BTS site) plus ``cC-pwr`` (the BTS site's separate
  power system, role ``power``, UPS-MIB) also behind the switch;
- homing: a commune's access router hangs behind ``agg-a``, ``agg-b`` or both
  (the redundancy pair: a device with two parents, reachable while either
  aggregation router is up).

Every device has ``icmp: false``: all agents share 127.0.0.1, which always
answers pings, so only SNMP may decide reachability here.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from inventory.reference import load_reference

PROVINCE = "31"
COMMUNITY = "truth-public"
CREDENTIAL = "truth-v2"
NOC_POST = "noc"
HOMINGS = ("a", "b", "ab")  # behind agg-a, agg-b, or both (redundancy pair)
ROLE_NAMES = {
    "router": "Router",
    "switch": "Switch",
    "bts": "Trạm BTS",
    "power": "Nguồn trạm BTS",
    "dns": "Máy chủ DNS",
}


@dataclass(frozen=True)
class DeviceSpec:
    """One watched device and the command post that must hear about it."""

    id: str
    name: str
    role: str
    site: str
    parents: tuple[str, ...]
    post: str  # "noc" or "commune:<code>"
    port: int = 0


@dataclass(frozen=True)
class CommuneSpec:
    """A watched commune: code, name, its command post's e-mail and how it is homed."""

    code: str
    name: str
    email: str
    homing: str  # "a", "b" or "ab"

    @property
    def post(self) -> str:
        """The post id Trucban uses for this commune (header ``X-Trucban-Post``)."""
        return f"commune:{self.code}"

    def device(self, part: str) -> str:
        """Device id of ``part`` (``r``, ``sw``, ``bts``, ``pwr``) in this commune."""
        return f"c{self.code}-{part}"


@dataclass
class World:
    """Devices, communes and the city site; writes the inventory files."""

    devices: dict[str, DeviceSpec]
    communes: list[CommuneSpec]
    city_commune: str
    noc_email: str = "noc@truth.test"
    children: dict[str, list[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """Index children by parent."""
        self.children = {d: [] for d in self.devices}
        for dev in self.devices.values():
            for parent in dev.parents:
                self.children[parent].append(dev.id)

    def descendants(self, device: str) -> Iterator[str]:
        """Every device below ``device`` (through any parent)."""
        seen: set[str] = set()
        stack = list(self.children[device])
        while stack:
            child = stack.pop()
            if child not in seen:
                seen.add(child)
                yield child
                stack.extend(self.children[child])

    def ancestors(self, device: str) -> set[str]:
        """Every device above ``device``."""
        out: set[str] = set()
        stack = list(self.devices[device].parents)
        while stack:
            parent = stack.pop()
            if parent not in out:
                out.add(parent)
                stack.extend(self.devices[parent].parents)
        return out

    def with_ports(self, ports: dict[str, int]) -> World:
        """The same world with each device's agent port filled in."""
        devices = {d: DeviceSpec(**{**spec.__dict__, "port": ports[d]}) for d, spec in self.devices.items()}
        return World(devices, self.communes, self.city_commune, self.noc_email)

    def write_inventory(self, directory: Path) -> Path:
        """Write ``inventory.yaml`` and ``credentials.yaml`` in the README's format; return the inventory."""
        directory.mkdir(parents=True, exist_ok=True)
        creds = {"credentials": {CREDENTIAL: {"kind": "snmp_v2c", "community": COMMUNITY}}}
        (directory / "credentials.yaml").write_text(yaml.safe_dump(creds), encoding="utf-8")
        sites = [
            {"id": "dc-hp", "name": "Trung tâm dữ liệu thành phố", "kind": "data_centre",
             "commune": self.city_commune},
            {"id": "dns-hp", "name": "Trạm DNS thành phố", "kind": "dns_site", "commune": self.city_commune},
        ]
        communes = []
        for c in self.communes:
            communes.append({"code": c.code, "command_post": f"Ban Chỉ huy phòng thủ dân sự {c.name}",
                             "contacts": [{"name": f"Trực ban {c.name}", "email": c.email}]})
            sites.append({"id": f"hq-{c.code}", "name": f"Trụ sở UBND {c.name}", "kind": "commune_hq",
                          "commune": c.code})
            sites.append({"id": f"bts-{c.code}", "name": f"Trạm BTS {c.name}", "kind": "bts_site",
                          "commune": c.code})
        devices = []
        for dev in self.devices.values():
            entry: dict[str, object] = {
                "id": dev.id, "name": dev.name, "site": dev.site, "role": dev.role, "address": "127.0.0.1",
                "icmp": False, "snmp": {"credential": CREDENTIAL, "port": dev.port},
            }
            if dev.parents:
                entry["parents"] = list(dev.parents)
            devices.append(entry)
        doc = {"province": PROVINCE, "credentials_file": "credentials.yaml", "communes": communes,
               "sites": sites, "devices": devices}
        path = directory / "inventory.yaml"
        path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
        return path


def build_world(n_communes: int, offset: int = 0) -> World:
    """City core plus ``n_communes`` real Hải Phòng communes, homed a, b, ab, a, b, ab, …

    ``offset`` skips the first communes of the reference list (the city site
    takes the very first one, never watched as a commune).
    """
    ref = sorted(load_reference().in_province(PROVINCE), key=lambda c: c.code)
    if n_communes + offset + 1 > len(ref):
        raise ValueError(f"province {PROVINCE} has only {len(ref) - 1} communes to watch")
    city = ref[0].code
    devices: dict[str, DeviceSpec] = {}

    def add(dev_id: str, role: str, site: str, parents: tuple[str, ...], post: str, name: str) -> None:
        devices[dev_id] = DeviceSpec(dev_id, name, role, site, parents, post)

    add("agg-a", "router", "dc-hp", (), NOC_POST, "Router tập trung A")
    add("agg-b", "router", "dc-hp", (), NOC_POST, "Router tập trung B")
    add("dns-1", "dns", "dns-hp", (), NOC_POST, "Máy chủ DNS 1")
    add("dns-2", "dns", "dns-hp", (), NOC_POST, "Máy chủ DNS 2")
    communes = []
    for i, ref_c in enumerate(ref[1 + offset: 1 + offset + n_communes]):
        c = CommuneSpec(ref_c.code, ref_c.name, f"post-{ref_c.code}@truth.test", HOMINGS[i % len(HOMINGS)])
        communes.append(c)
        uplinks = tuple(f"agg-{h}" for h in c.homing)
        add(c.device("r"), "router", f"hq-{c.code}", uplinks, c.post, f"Router truy nhập {c.name}")
        add(c.device("sw"), "switch", f"hq-{c.code}", (c.device("r"),), c.post, f"Switch {c.name}")
        add(c.device("bts"), "bts", f"bts-{c.code}", (c.device("sw"),), c.post, f"Trạm BTS {c.name}")
        add(c.device("pwr"), "power", f"bts-{c.code}", (c.device("sw"),), c.post, f"Nguồn BTS {c.name}")
    return World(devices, communes, city)
