"""Commune-level indicators the city plans name (DII infrastructure index), for one period.

- communes with at least one BTS up (or degraded) for every second of the period;
- share of BTS built to disaster-hardening level ≥ 4 (inventory);
- communes with a working backup link: a backup link whose last status in the
  period is ``up``;
- DNS servers answering over IPv6: :func:`alerting.rules.ipv6.ipv6_readiness`
  on the newest ``dns_ipv6`` samples (a reading at report time).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass

from alerting.history import Interval
from alerting.rules.ipv6 import ipv6_readiness
from inventory.inventory import Inventory
from inventory.model import DeviceRole, LinkKind
from reports.availability import DeviceAvailability
from store.base import MetricStore

HARDENED_LEVEL = 4


@dataclass(frozen=True, slots=True)
class Indicators:
    """Counts (and the shares derived from them) for a period."""

    communes: int
    communes_with_bts: int
    communes_bts_up_throughout: int
    bts: int
    bts_hardened: int
    communes_with_backup: int
    communes_backup_working: int
    dns_servers: int | None  # None: no fresh dns_ipv6 reading (or no store)
    dns_ipv6: int | None

    @staticmethod
    def share(part: int | None, whole: int | None) -> float | None:
        """part/whole rounded to 4 digits, None when undefined."""
        return round(part / whole, 4) if part is not None and whole else None

    def as_dict(self) -> dict[str, int | float | None]:
        """Counts plus shares, for JSON and CSV."""
        out: dict[str, int | float | None] = dict(asdict(self))
        out.update(
            share_communes_bts_up_throughout=self.share(self.communes_bts_up_throughout,
                                                        self.communes_with_bts),
            share_bts_hardened=self.share(self.bts_hardened, self.bts),
            share_communes_backup_working=self.share(self.communes_backup_working, self.communes_with_backup),
            share_dns_ipv6=self.share(self.dns_ipv6, self.dns_servers),
        )
        return out


def compute_indicators(inventory: Inventory, rows: dict[str, DeviceAvailability],
                       intervals: Iterable[Interval], *, store: MetricStore | None = None,
                       now: int | None = None, communes: set[str] | None = None) -> Indicators:
    """The indicators over ``rows`` (one period) and the link intervals among ``intervals``."""
    devices, sites = inventory.devices, inventory.sites
    wanted = set(inventory.watched_communes) if communes is None else communes
    bts = [d for d in devices.values() if d.role is DeviceRole.BTS and sites[d.site].commune in wanted]
    with_bts: set[str] = set()
    up_throughout: set[str] = set()
    for d in bts:
        code = sites[d.site].commune
        with_bts.add(code)
        row = rows.get(d.id)
        if row is not None and row.available_s == row.period_s:
            up_throughout.add(code)
    backups = {f"link:{link.id}": link.commune for link in inventory.links.values()
               if link.kind is LinkKind.BACKUP and link.commune in wanted}
    last: dict[str, tuple[int, str]] = {}
    for iv in intervals:
        if iv.subject in backups and iv.end >= last.get(iv.subject, (-1, ""))[0]:
            last[iv.subject] = (iv.end, iv.status)
    working = {backups[s] for s, (_, status) in last.items() if status == "up"}
    dns_servers = dns_ipv6 = None
    if store is not None and now is not None:
        ready = ipv6_readiness(inventory, store, now, communes=None if communes is None else communes)
        if ready.dns_servers:
            dns_servers, dns_ipv6 = ready.dns_servers, ready.dns_reachable_ipv6
    return Indicators(
        communes=len(wanted), communes_with_bts=len(with_bts), communes_bts_up_throughout=len(up_throughout),
        bts=len(bts), bts_hardened=sum(1 for d in bts if (d.hardening_level or 0) >= HARDENED_LEVEL),
        communes_with_backup=len(set(backups.values())), communes_backup_working=len(working),
        dns_servers=dns_servers, dns_ipv6=dns_ipv6,
    )
