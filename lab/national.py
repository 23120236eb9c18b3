"""A synthetic national inventory (3,321 communes, ~26,800 devices) built in memory.

For benchmarks: every commune of the reference data gets an access router
behind its province's aggregation router (one per 20 communes), behind two core
routers, and seven devices behind the access router: a switch, two BTS with
their power systems, a LEO terminal and an HQ DNS/edge box. Four levels of parents.
No files, no SNMP agents: only the model.
"""

from __future__ import annotations

from ipaddress import IPv4Address
from typing import Any

from pydantic import SecretStr

from inventory.credentials import SnmpCommunity
from inventory.inventory import Inventory
from inventory.model import Device, DeviceRole, Link, LinkKind, LinkMedium, Site, SiteKind, SnmpAccess
from inventory.reference import CommuneRef, load_reference

COMMUNES_PER_AGG = 20
LEAVES = (("sw1", DeviceRole.SWITCH), ("bts1", DeviceRole.BTS), ("pwr1", DeviceRole.POWER),
          ("bts2", DeviceRole.BTS), ("pwr2", DeviceRole.POWER), ("leo1", DeviceRole.LEO),
          ("sw2", DeviceRole.SWITCH))


def national_inventory(province: str | None = None) -> Inventory:
    """The whole country (or one province) as an :class:`Inventory`."""
    ref = load_reference()
    sites: dict[str, Site] = {}
    devices: dict[str, Device] = {}
    links: dict[str, Link] = {}
    snmp = SnmpAccess.model_construct(credential="bench", port=161, profile=None, timeout_s=2.0, retries=1)
    counter = iter(range(1, 10**7))

    def add(dev_id: str, site: str, role: DeviceRole, parents: tuple[str, ...], hardening: int | None = None
            ) -> None:
        n = next(counter)
        devices[dev_id] = Device.model_construct(
            id=dev_id, name=dev_id, site=site, role=role, address=IPv4Address(0x0A000000 + n), snmp=snmp,
            operator="VNPT", hardening_level=hardening, parents=parents)

    for pcode in sorted(ref.provinces):
        if province and pcode != province:
            continue
        communes = ref.in_province(pcode)
        dc = f"p{pcode}-dc"
        sites[dc] = _site(dc, SiteKind.DATA_CENTRE, communes[0])
        cores = (f"p{pcode}-core1", f"p{pcode}-core2")
        for core in cores:
            add(core, dc, DeviceRole.ROUTER, ())
        for i, c in enumerate(communes):
            agg = f"p{pcode}-agg{i // COMMUNES_PER_AGG + 1:03d}"
            if agg not in devices:
                add(agg, dc, DeviceRole.ROUTER, cores)
            hq, bts = f"c{c.code}-hq", f"c{c.code}-bts"
            sites[hq] = _site(hq, SiteKind.COMMUNE_HQ, c)
            sites[bts] = _site(bts, SiteKind.BTS_SITE, c)
            r1 = f"c{c.code}-r1"
            add(r1, hq, DeviceRole.ROUTER, (agg,))
            for suffix, role in LEAVES:
                site = bts if role in (DeviceRole.BTS, DeviceRole.POWER) else hq
                add(f"c{c.code}-{suffix}", site, role, (r1,), 4 if site == bts else None)
            for kind, medium, index in ((LinkKind.PRIMARY, LinkMedium.FIBRE, 1),
                                        (LinkKind.BACKUP, LinkMedium.CELLULAR_4G, 2)):
                link_id = f"c{c.code}-{kind.value}"
                links[link_id] = Link.model_construct(id=link_id, device=r1, if_index=index, kind=kind,
                                                      medium=medium, commune=c.code, operator="VNPT")
    creds: dict[str, object] = {
        "bench": SnmpCommunity.model_construct(kind="snmp_v2c", community=None, community_env=None)
    }
    return Inventory(province=province or "00", reference=ref, communes={}, sites=sites, devices=devices,
                     links=links, credentials=creds)


def _site(ident: str, kind: SiteKind, c: CommuneRef) -> Site:
    return Site.model_construct(id=ident, name=ident, kind=kind, commune=c.code, lat=c.lat, lon=c.lon)


def national_lab_inventory(port: int, province: str | None = None, host: str = "127.0.0.1",
                           timeout_s: float = 2.0, retries: int = 1) -> Inventory:
    """:func:`lab.national.national_inventory` pointed at the responder: ``host:port``, community = device id.

    Every commune also gets a command-post entry with one contact (an e-mail at
    ``lab.invalid``) so incidents have someone to notify.
    """
    from inventory.model import CommuneEntry, Contact

    inv = national_inventory(province)
    creds: dict[str, object] = {}
    devices = {}
    for dev_id, d in inv.devices.items():
        cred = f"snmp-{dev_id}"
        creds[cred] = SnmpCommunity.model_construct(kind="snmp_v2c", community=SecretStr(dev_id),
                                                    community_env=None)
        snmp = SnmpAccess.model_construct(credential=cred, port=port, profile=None, timeout_s=timeout_s,
                                          retries=retries)
        devices[dev_id] = d.model_copy(update={"address": _ip(host), "snmp": snmp})
    codes = sorted({s.commune for s in inv.sites.values()})
    communes = {}
    for n, code in enumerate(codes):
        name = inv.reference.communes[code].name
        communes[code] = CommuneEntry(code=code, command_post=f"Ban Chỉ huy phòng thủ dân sự {name}",
                                      contacts=(Contact(name=f"Trực ban {name}", role="trực ban",
                                                        phone=f"+8490{n:07d}",
                                                        email=f"trucban.{code}@lab.invalid"),))
    return Inventory(province=inv.province, reference=inv.reference, communes=communes, sites=inv.sites,
                     devices=devices, links=inv.links, credentials=creds)


def _ip(host: str) -> Any:
    from ipaddress import ip_address

    return ip_address(host)
