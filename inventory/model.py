"""Typed records of the watched world, as read from inventory files.

Province → commune → site → device → interface/link. These pydantic models are
the edge: they check each record on its own (types, addresses, enums). Checks
across records (unknown references, duplicates, cycles) live in
:mod:`inventory.validate`.
"""

from __future__ import annotations

from enum import StrEnum
from ipaddress import IPv6Address

from pydantic import BaseModel, ConfigDict, Field, IPvAnyAddress, ValidationInfo, field_validator


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class CommuneKind(StrEnum):
    """Commune-level unit type of the 2025 two-level structure."""

    XA = "xa"
    PHUONG = "phuong"
    DAC_KHU = "dac_khu"


COMMUNE_KIND_VI = {CommuneKind.XA: "Xã", CommuneKind.PHUONG: "Phường", CommuneKind.DAC_KHU: "Đặc khu"}


class SiteKind(StrEnum):
    """What a site is; drives which rules and runbooks apply."""

    COMMUNE_HQ = "commune_hq"
    BTS_SITE = "bts_site"
    DATA_CENTRE = "data_centre"
    DNS_SITE = "dns_site"
    NOC = "noc"


class DeviceRole(StrEnum):
    """What a device does; selects its device profile and rules."""

    ROUTER = "router"
    SWITCH = "switch"
    DNS = "dns"
    BTS = "bts"
    POWER = "power"
    LEO = "leo"


class LinkKind(StrEnum):
    """Primary path (TSLCD fibre) or a backup path (Decision 33/2025)."""

    PRIMARY = "primary"
    BACKUP = "backup"


class LinkMedium(StrEnum):
    """The physical path a link uses."""

    FIBRE = "fibre"
    CELLULAR_4G = "4g"
    CELLULAR_5G = "5g"
    LEO = "leo"


class Contact(_Record):
    """A person at a command post who receives alerts."""

    name: str = Field(min_length=1)
    role: str = ""
    phone: str | None = Field(default=None, pattern=r"^\+?[0-9 ]{6,20}$")
    email: str | None = Field(default=None, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    zalo: str | None = None  # Zalo chat id (Zalo Bot API) or OA user id
    telegram: str | None = None  # Telegram chat id


class CommuneEntry(_Record):
    """A commune the inventory watches, with its command post's contacts."""

    code: str = Field(pattern=r"^[0-9]{5}$")
    command_post: str | None = None
    contacts: tuple[Contact, ...] = ()


class Site(_Record):
    """A place with devices: commune HQ, BTS site, data centre, DNS site, NOC."""

    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
    name: str = Field(min_length=1)
    kind: SiteKind
    commune: str = Field(pattern=r"^[0-9]{5}$")
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)


class SnmpAccess(_Record):
    """How to reach a device over SNMP; the secret is a credential reference."""

    credential: str = Field(min_length=1)
    port: int = Field(default=161, ge=1, le=65535)
    profile: str | None = None
    # Short, as net-snmp's 1 s: a silent device is then confirmed (poller.confirm) within seconds.
    timeout_s: float = Field(default=1.0, gt=0, le=60)
    retries: int = Field(default=1, ge=0, le=5)


class NetconfAccess(_Record):
    """How to reach a device over NETCONF (SSH subsystem); the login is a credential reference."""

    credential: str = Field(min_length=1)
    port: int = Field(default=830, ge=1, le=65535)
    vendor: str = "ietf"
    timeout_s: float = Field(default=10.0, gt=0, le=120)


class SshAccess(_Record):
    """How to reach a device's CLI over SSH (netmiko); the login is a credential reference."""

    credential: str = Field(min_length=1)
    port: int = Field(default=22, ge=1, le=65535)
    platform: str = "cisco_ios"
    timeout_s: float = Field(default=15.0, gt=0, le=120)
    enable_credential: str | None = None


class DnsQuery(_Record):
    """One DNS question a probe asks: a name (relative to the zone, ``@`` = apex) and a type."""

    name: str = "@"
    type: str = Field(default="SOA", pattern=r"^[A-Z0-9]{1,10}$")


class DnsProbeSpec(_Record):
    """What to ask a DNS server: the zone it serves, the questions and over which families."""

    zone: str = Field(min_length=1)
    port: int = Field(default=53, ge=1, le=65535)
    queries: tuple[DnsQuery, ...] = ()
    ipv4: IPvAnyAddress | None = None
    ipv6: IPvAnyAddress | None = None
    tcp: bool = True
    timeout_s: float = Field(default=2.0, gt=0, le=30)


class Device(_Record):
    """A polled device. ``parents`` are the devices it hangs behind."""

    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
    name: str = Field(min_length=1)
    site: str
    role: DeviceRole
    address: IPvAnyAddress  # management address, IPv4 or IPv6
    address6: IPvAnyAddress | None = None  # IPv6 address of a dual-stack device whose address is IPv4
    snmp: SnmpAccess | None = None
    netconf: NetconfAccess | None = None
    ssh: SshAccess | None = None
    dns: DnsProbeSpec | None = None
    icmp: bool = True
    operator: str | None = None
    hardening_level: int | None = Field(default=None, ge=0, le=5)
    parents: tuple[str, ...] = ()

    @field_validator("address6")
    @classmethod
    def _check_address6(cls, value: object, info: ValidationInfo) -> object:
        """``address6`` is a usable global/ULA IPv6 address, and only beside an IPv4 ``address``."""
        if value is None:
            return value
        if not isinstance(value, IPv6Address):
            raise ValueError("must be an IPv6 address (address6 is the IPv6 side of a dual-stack device)")
        if value.ipv4_mapped is not None or value.is_multicast or value.is_unspecified or value.is_link_local:
            raise ValueError("must be a unicast IPv6 address the poller can reach (not IPv4-mapped, "
                             "multicast, :: or link-local)")
        address = info.data.get("address")
        if isinstance(address, IPv6Address) and address != value:
            raise ValueError(f"address is already IPv6 ({address}); address6 is only for a device whose "
                             "address is IPv4")
        return value

    @property
    def families(self) -> dict[str, str]:
        """Management address per IP family: ``{"ipv4": …, "ipv6": …}`` (one or both)."""
        out = {f"ipv{self.address.version}": str(self.address)}
        if self.address6 is not None:
            out["ipv6"] = str(self.address6)
        return out

    @field_validator("parents", mode="before")
    @classmethod
    def _split_parents(cls, value: object) -> object:
        """Allow ``"a b"`` / ``"a;b"`` in CSV cells as well as YAML lists."""
        if isinstance(value, str):
            return tuple(p for p in value.replace(";", " ").split() if p)
        return value


class Link(_Record):
    """An uplink of a commune: which device/interface carries it, and of what kind."""

    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
    device: str
    if_index: int = Field(ge=1)
    kind: LinkKind
    medium: LinkMedium
    commune: str = Field(pattern=r"^[0-9]{5}$")
    operator: str | None = None


class InventoryFile(_Record):
    """The top-level inventory YAML document."""

    province: str = Field(pattern=r"^[0-9]{2}$")
    credentials_file: str | None = None
    sites_csv: str | None = None
    devices_csv: str | None = None
    communes: tuple[CommuneEntry, ...] = ()
    sites: tuple[Site, ...] = ()
    devices: tuple[Device, ...] = ()
    links: tuple[Link, ...] = ()
