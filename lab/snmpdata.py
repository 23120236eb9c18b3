"""Write snmpsim data files (``.snmprec``) for simulated Trucban devices.

Why: the lab serves one agent per device from a single snmpsim process; the
agent is selected by SNMP community, which snmpsim takes from the data file's
name. Each file holds the SNMPv2-MIB system group, IF-MIB ifTable/ifXTable and,
for power systems, the UPS-MIB (RFC 1628). Every record is routed through the
``trucban_state`` variation module so that live values (uptime, link state,
counters, battery) follow the staged per-device state and a ``silent`` device
answers nothing at all.

Record value types use snmpsim's tags: 2 INTEGER, 4 OCTET STRING, 6 OBJECT
IDENTIFIER, 65 Counter32, 66 Gauge32, 67 TimeTicks, 70 Counter64.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

MODULE = "trucban_state"
ROLES = ("router", "switch", "dns", "bts", "power", "leo")

SYS = "1.3.6.1.2.1.1"
IF_NUMBER = "1.3.6.1.2.1.2.1.0"
IF_ENTRY = "1.3.6.1.2.1.2.2.1"
IFX_ENTRY = "1.3.6.1.2.1.31.1.1.1"
UPS = "1.3.6.1.2.1.33.1"
HR = "1.3.6.1.2.1.25"
ENT_SENSOR = "1.3.6.1.2.1.99.1.1.1"
# Greater than any OID a manager asks for; see the ``end`` kind in trucban_state.
SENTINEL: tuple[str, str, str] = ("1.4294967295", "2", "end")


@dataclass(frozen=True)
class RoleProfile:
    """Per-role constants: vendor OID, default link speed and traffic level."""

    sys_object_id: str
    speed_mbps: int
    mean_rate_bps: float  # average octets/s per interface
    services: int  # sysServices bit mask


ROLE_PROFILES: dict[str, RoleProfile] = {
    # Cisco ASR 1001-X
    "router": RoleProfile("1.3.6.1.4.1.9.1.1861", 10_000, 40e6, 6),
    # Huawei S5700 series
    "switch": RoleProfile("1.3.6.1.4.1.2011.2.23.95", 1_000, 8e6, 2),
    # net-snmp on Linux (BIND/Unbound server)
    "dns": RoleProfile("1.3.6.1.4.1.8072.3.2.10", 1_000, 2e6, 72),
    # Ericsson RBS baseband
    "bts": RoleProfile("1.3.6.1.4.1.193.183.4.1", 1_000, 12e6, 6),
    # Eltek Smartpack2 rectifier controller (48 V DC plant with battery)
    "power": RoleProfile("1.3.6.1.4.1.12148.10", 100, 2e3, 72),
    # Hughes HT2000 LEO/GEO terminal
    "leo": RoleProfile("1.3.6.1.4.1.26149.1.1", 100, 3e5, 6),
}


def write_snmprec(
    data_dir: Path,
    community: str,
    role: str,
    *,
    sys_name: str,
    sys_descr: str,
    if_names: list[str],
    seed: int = 0,
    sys_contact: str = "NOC Trucban <noc@trucban.local>",
    sys_location: str = "",
) -> Path:
    """Write ``data_dir/<community>.snmprec`` for one simulated device.

    The community (device id) becomes the file stem, which is how snmpsim maps
    a request to an agent. ``seed`` (mixed with the community) makes uptime,
    counter rates and temperatures differ between devices yet stay
    reproducible. Returns the path written.
    """
    if role not in ROLE_PROFILES:
        raise ValueError(f"unknown role {role!r}; expected one of {', '.join(ROLES)}")
    if not community or "/" in community or community.startswith("."):
        raise ValueError(f"community {community!r} cannot be used as a data file name")
    rng = random.Random(f"{seed}:{community}")
    profile = ROLE_PROFILES[role]
    records = system_records(profile, rng, sys_name, sys_descr, sys_contact, sys_location)
    records += interface_records(profile, rng, if_names)
    if role == "power":
        records += ups_records(rng)
    if role == "dns":
        records += host_resources_records(rng)
    if role in ("router", "switch"):
        records += entity_sensor_records(rng)
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / f"{community}.snmprec"
    tmp = path.with_suffix(".snmprec.tmp")
    tmp.write_bytes(render(records))
    tmp.replace(path)
    return path


Record = tuple[str, str, str]  # (oid, snmprec type tag, trucban_state value)


def render(records: list[Record]) -> bytes:
    """Sort records by OID (snmpsim needs that), add the sentinel, format as snmprec."""
    ordered = sorted(records, key=lambda r: tuple(int(x) for x in r[0].split(".")))
    ordered.append(SENTINEL)
    lines = [f"{oid}|{tag}:{MODULE}|{value}\n" for oid, tag, value in ordered]
    return "".join(lines).encode("utf-8")


def text(value: str) -> str:
    """A ``str:`` record value; line breaks would end the snmprec record."""
    return "str:" + " ".join(value.split("\n")).replace("\r", " ").strip()


def system_records(
    profile: RoleProfile,
    rng: random.Random,
    sys_name: str,
    sys_descr: str,
    sys_contact: str,
    sys_location: str,
) -> list[Record]:
    """SNMPv2-MIB system group; sysUpTime runs from a seeded boot time."""
    base_uptime = rng.randint(3_600, 90 * 86_400)
    return [
        (f"{SYS}.1.0", "4", text(sys_descr)),
        (f"{SYS}.2.0", "6", f"oid:{profile.sys_object_id}"),
        (f"{SYS}.3.0", "67", f"uptime:{base_uptime}"),
        (f"{SYS}.4.0", "4", text(sys_contact)),
        (f"{SYS}.5.0", "4", text(sys_name)),
        (f"{SYS}.6.0", "4", text(sys_location)),
        (f"{SYS}.7.0", "2", f"int:{profile.services}"),
    ]


def if_type(name: str) -> int:
    """IANA ifType guessed from the interface name."""
    low = name.lower()
    if low.startswith(("lo", "loopback")):
        return 24  # softwareLoopback
    if low.startswith(("tun", "gre")):
        return 131  # tunnel
    if low.startswith(("vlan", "vlanif")):
        return 136  # l3ipvlan
    return 6  # ethernetCsmacd


def if_speed_mbps(name: str, default: int) -> int:
    """Link speed in Mbit/s guessed from the interface name, else the role default."""
    low = name.lower()
    for prefix, speed in (
        ("hundredgig", 100_000),
        ("fortygig", 40_000),
        ("tengig", 10_000),
        ("xe-", 10_000),
        ("xgigabit", 10_000),
        ("gigabit", 1_000),
        ("ge-", 1_000),
        ("fastethernet", 100),
    ):
        if low.startswith(prefix):
            return speed
    return default


def interface_records(
    profile: RoleProfile, rng: random.Random, if_names: list[str]
) -> list[Record]:
    """IF-MIB ifNumber plus one ifTable and ifXTable row per interface."""
    records: list[Record] = [(IF_NUMBER, "2", f"int:{len(if_names)}")]
    for index, name in enumerate(if_names, start=1):
        records += interface_row(profile, rng, index, name)
    return records


def interface_row(
    profile: RoleProfile, rng: random.Random, index: int, name: str
) -> list[Record]:
    """Records for one interface: static attributes plus live status and counters."""
    kind = if_type(name)
    speed = if_speed_mbps(name, profile.speed_mbps)
    in_rate = 0.0 if kind == 24 else profile.mean_rate_bps * rng.uniform(0.2, 1.8)
    out_rate = 0.0 if kind == 24 else profile.mean_rate_bps * rng.uniform(0.2, 1.8)
    mac = "".join(f"{rng.randrange(256):02x}" for _ in range(6))

    def ctr(init: int, rate: float, bits: int = 32) -> str:
        return f"ctr:{index}:{init}:{rate:.6g}:{bits}"

    in_init, out_init = rng.randrange(2**40), rng.randrange(2**40)
    e, x = IF_ENTRY, IFX_ENTRY
    return [
        (f"{e}.1.{index}", "2", f"int:{index}"),
        (f"{e}.2.{index}", "4", text(name)),
        (f"{e}.3.{index}", "2", f"int:{kind}"),
        (f"{e}.4.{index}", "2", f"int:{65536 if kind == 24 else 1500}"),
        (f"{e}.5.{index}", "66", f"int:{min(speed * 1_000_000, 2**32 - 1)}"),
        (f"{e}.6.{index}", "4", f"hex:{mac}"),
        (f"{e}.7.{index}", "2", "int:1"),
        (f"{e}.8.{index}", "2", f"oper:{index}"),
        (f"{e}.9.{index}", "67", f"lastchange:{index}"),
        (f"{e}.10.{index}", "65", ctr(in_init, in_rate)),
        (f"{e}.11.{index}", "65", ctr(in_init // 700, in_rate / 700)),
        (f"{e}.13.{index}", "65", ctr(rng.randrange(500), rng.uniform(0, 0.02))),
        (f"{e}.14.{index}", "65", ctr(rng.randrange(100), rng.uniform(0, 0.005))),
        (f"{e}.16.{index}", "65", ctr(out_init, out_rate)),
        (f"{e}.17.{index}", "65", ctr(out_init // 700, out_rate / 700)),
        (f"{e}.19.{index}", "65", ctr(rng.randrange(500), rng.uniform(0, 0.02))),
        (f"{e}.20.{index}", "65", ctr(rng.randrange(100), rng.uniform(0, 0.005))),
        (f"{x}.1.{index}", "4", text(name)),
        (f"{x}.6.{index}", "70", ctr(in_init, in_rate, 64)),
        (f"{x}.10.{index}", "70", ctr(out_init, out_rate, 64)),
        (f"{x}.15.{index}", "66", f"int:{speed}"),
        (f"{x}.18.{index}", "4", text(f"{name} uplink" if index == 1 else "")),
    ]


def ups_records(rng: random.Random) -> list[Record]:
    """UPS-MIB (RFC 1628) identity, battery, input and output source objects."""
    return [
        (f"{UPS}.1.1.0", "4", "str:Eltek"),
        (f"{UPS}.1.2.0", "4", "str:Smartpack2 Touch 48V"),
        (f"{UPS}.2.1.0", "2", "ups:status"),
        (f"{UPS}.2.2.0", "2", "ups:seconds_on_battery"),
        (f"{UPS}.2.3.0", "2", "ups:minutes"),
        (f"{UPS}.2.4.0", "2", "ups:charge"),
        (f"{UPS}.2.5.0", "2", "ups:voltage"),
        (f"{UPS}.2.7.0", "2", f"ups:temperature:{rng.randint(24, 36)}"),
        (f"{UPS}.3.1.0", "65", f"ups:line_bads:{rng.randint(0, 20)}"),
        (f"{UPS}.3.2.0", "2", "int:1"),
        (f"{UPS}.3.3.1.2.1", "2", "ups:in_frequency"),
        (f"{UPS}.3.3.1.3.1", "2", f"ups:in_voltage:{rng.randint(218, 232)}"),
        (f"{UPS}.4.1.0", "2", "ups:output_source"),
    ]


def host_resources_records(rng: random.Random, cpus: int = 2) -> list[Record]:
    """HOST-RESOURCES-MIB: processes, users, per-CPU load (a slow wave) and storage (RAM, disk)."""
    records: list[Record] = [
        (f"{HR}.1.5.0", "66", "int:1"),
        (f"{HR}.1.6.0", "66", f"wave:{rng.randint(120, 260)}:20:600"),
    ]
    for cpu in range(1, cpus + 1):
        records.append((f"{HR}.3.3.1.2.{196607 + cpu}", "2", f"wave:{rng.randint(10, 40)}:10:300"))
    storage = [  # index, type, descr, units, size, used-base
        (1, "1.3.6.1.2.1.25.2.1.2", "Physical memory", 1024, 8_000_000, rng.randint(2_000_000, 5_000_000)),
        (31, "1.3.6.1.2.1.25.2.1.4", "/", 4096, 12_000_000, rng.randint(3_000_000, 7_000_000)),
    ]
    for index, kind, descr, units, size, used in storage:
        records += [
            (f"{HR}.2.3.1.1.{index}", "2", f"int:{index}"),
            (f"{HR}.2.3.1.2.{index}", "6", f"oid:{kind}"),
            (f"{HR}.2.3.1.3.{index}", "4", text(descr)),
            (f"{HR}.2.3.1.4.{index}", "2", f"int:{units}"),
            (f"{HR}.2.3.1.5.{index}", "2", f"int:{size}"),
            (f"{HR}.2.3.1.6.{index}", "2", f"wave:{used}:{used // 20}:900"),
        ]
    return records


def entity_sensor_records(rng: random.Random) -> list[Record]:
    """ENTITY-SENSOR-MIB: a chassis temperature (°C), a fan (rpm) and a 12 V rail (mV)."""
    sensors = [  # entPhysicalIndex, type, scale, precision, value kind
        (1001, 8, 9, 0, f"wave:{rng.randint(32, 45)}:3:600"),
        (1002, 10, 9, 0, f"wave:{rng.randint(4000, 6000)}:200:300"),
        (1003, 4, 8, 0, "int:12050"),
    ]
    records: list[Record] = []
    for index, kind, scale, precision, value in sensors:
        records += [
            (f"{ENT_SENSOR}.1.{index}", "2", f"int:{kind}"),
            (f"{ENT_SENSOR}.2.{index}", "2", f"int:{scale}"),
            (f"{ENT_SENSOR}.3.{index}", "2", f"int:{precision}"),
            (f"{ENT_SENSOR}.4.{index}", "2", value),
            (f"{ENT_SENSOR}.5.{index}", "2", "int:1"),
        ]
    return records
