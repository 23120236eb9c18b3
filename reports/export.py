"""CSV exports of a report (UTF-8, Vietnamese headers, durations in seconds, availability in %)."""

from __future__ import annotations

import csv
import io

from reports.report import AvailabilityReport

GROUP_HEADER = ["ma", "ten", "so_thiet_bi", "kha_dung_pct", "quan_sat_s", "mat_ket_noi_s", "so_lan_mat",
                "mttr_s", "lau_nhat_s", "bao_tri_s", "khong_toi_duoc_s", "duong_du_phong_s", "ac_quy_s"]
DEVICE_HEADER = ["thiet_bi", "ten", "vai_tro", "nha_mang", "xa", "kha_dung_pct", "quan_sat_s",
                 "mat_ket_noi_s", "so_lan_mat", "mttr_s", "lau_nhat_s", "bao_tri_s", "khong_toi_duoc_s",
                 "gay_mat_cho_thiet_bi_con_s", "ac_quy_s"]


def _pct(value: float | None) -> str:
    return "" if value is None else f"{100 * value:.4f}"


def _num(value: float | None) -> str:
    return "" if value is None else f"{value:.0f}"


def groups_csv(report: AvailabilityReport, by: str) -> str:
    """One line per group (commune, site, role, …)."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(GROUP_HEADER)
    for g in report.groups(by):
        w.writerow([g.key, report.name_of(by, g.key), g.devices, _pct(g.availability), g.observed_s,
                    g.down_s, g.outages, _num(g.mttr_s), g.longest_outage_s, g.maintenance_s, g.unreachable_s,
                    g.backup_s, g.battery_s])
    return out.getvalue()


def devices_csv(report: AvailabilityReport) -> str:
    """One line per device."""
    inv = report.inventory
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(DEVICE_HEADER)
    for dev_id in sorted(report.devices):
        r = report.devices[dev_id]
        d = inv.devices[dev_id]
        w.writerow([dev_id, d.name, d.role.value, d.operator or "", inv.sites[d.site].commune,
                    _pct(r.availability), r.observed_s, r.down_s, r.outages, _num(r.mttr_s),
                    r.longest_outage_s, r.maintenance_s, r.unreachable_s, r.caused_unreachable_s,
                    r.battery_s])
    return out.getvalue()


def report_csv(report: AvailabilityReport, by: str) -> str:
    """``by="device"``: the device table; otherwise the pooled groups."""
    return devices_csv(report) if by == "device" else groups_csv(report, by)
