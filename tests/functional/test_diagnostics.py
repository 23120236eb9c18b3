"""Diagnostics against real peers: fakenos Cisco IOS over SSH, a NETCONF server, nsd; refusals; timeline."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from alerting.db import open_database
from alerting.incidents import Condition, IncidentKind, Severity
from alerting.manager import IncidentManager
from alerting.repository import IncidentRepository
from poller.diagnostics import DiagnosticRefused, DiagnosticRunner, Step, build_diagnostics, load_allowlist
from poller.diagnostics.allowlist import AllowList, Limits
from poller.diagnostics.transports import DnsTransport, NetconfTransport, SshTransport
from tests.functional.diagnostics_fixtures import DiagnosticPeers, diagnostic_peers  # noqa: F401

pytestmark = pytest.mark.functional


def _runner(peers: DiagnosticPeers, **limits: object) -> DiagnosticRunner:
    allow = load_allowlist()
    allow = AllowList.model_validate({**allow.model_dump(), "limits": Limits(**{**allow.limits.model_dump(),
                                                                               "cooldown_s": 0, **limits})})
    creds = dict(peers.inventory.credentials)
    dns_peers = {"tslcd.haiphong.vn.": [peers.inventory.devices["ns1"], peers.inventory.devices["ns2"]]}
    return DiagnosticRunner(allow, {"ssh": SshTransport(creds), "dns": DnsTransport(dns_peers),
                                    "netconf": NetconfTransport(creds, allow.netconf)})


@pytest.fixture()
def runner(diagnostic_peers: DiagnosticPeers) -> Iterator[DiagnosticRunner]:  # noqa: F811
    r = _runner(diagnostic_peers)
    yield r
    r.close()


async def test_show_commands_run_on_the_ios_emulator(diagnostic_peers: DiagnosticPeers,  # noqa: F811
                                                     runner: DiagnosticRunner) -> None:
    dev = diagnostic_peers.inventory.devices["r1-11311"]
    report = await runner.run(dev, [Step("ssh", "show version"), Step("ssh", "show ip route"),
                                    Step("ssh", "show logging")])
    assert [r.ok for r in report.results] == [True, True, True], report.results
    version, route, logging_ = (r.output for r in report.results)
    assert "Cisco IOS" in version
    assert "Gateway of last resort" in route
    assert "Syslog logging: enabled" in logging_
    assert report.summary_vi() == "Chẩn đoán tự động trên thiết bị r1-11311 (SSH CLI): 3/3 bước có kết quả"


async def test_configuration_and_unlisted_commands_are_refused_before_anything_is_sent(
        diagnostic_peers: DiagnosticPeers, runner: DiagnosticRunner) -> None:  # noqa: F811
    dev = diagnostic_peers.inventory.devices["hung-01"]  # would time out if anything were sent
    started = time.monotonic()
    with pytest.raises(DiagnosticRefused, match=r"hung-01: diagnostic 'configure terminal' refused: looks "
                                                r"like configuration \('configure' means 'configure'\)"):
        await runner.run(dev, [Step("ssh", "show version"), Step("ssh", "configure terminal")])
    with pytest.raises(DiagnosticRefused, match="'show running-config' refused: not on the cisco_ios "
                                                "allow-list"):
        await runner.run_command(dev, "show running-config")
    with pytest.raises(PermissionError, match="line break"):
        await runner.run_command(dev, "show clock\nreload")
    assert time.monotonic() - started < 0.5 and runner.peak == 0  # no session was ever opened


async def test_netconf_get_returns_interface_state(diagnostic_peers: DiagnosticPeers,  # noqa: F811
                                                   runner: DiagnosticRunner) -> None:
    dev = diagnostic_peers.inventory.devices["agg-01"]
    report = await runner.run(dev, [Step("netconf", "interfaces"), Step("netconf", "alarms")])
    assert all(r.ok for r in report.results), report.results
    assert "<name>ge-0/0/1</name>" in report.results[0].output and "oper-status" in report.results[0].output
    assert "Mất tín hiệu quang" in report.results[1].output


async def test_dns_soa_from_ipv4_and_ipv6_with_peer_serials(diagnostic_peers: DiagnosticPeers,  # noqa: F811
                                                             runner: DiagnosticRunner) -> None:
    dev = diagnostic_peers.inventory.devices["ns1"]
    report = await runner.run(dev, [Step("dns", "SOA @")])
    out = report.results[0].output
    serial = diagnostic_peers.dns.serial
    assert report.results[0].ok
    assert f"IPv4 127.0.0.1 UDP: SOA tslcd.haiphong.vn. → NOERROR, 1 bản ghi, serial {serial}" in out
    assert f"IPv6 ::1 TCP: SOA tslcd.haiphong.vn. → NOERROR, 1 bản ghi, serial {serial}" in out
    assert f"so sánh: ns2 127.0.0.1: serial {serial}" in out


async def test_hung_device_times_out_and_the_global_limit_holds(diagnostic_peers: DiagnosticPeers) -> None:  # noqa: F811
    runner = _runner(diagnostic_peers, concurrency=1, command_timeout_s=2, timeout_s=6)
    try:
        inv = diagnostic_peers.inventory.devices
        started = time.monotonic()
        hung, a, b = await asyncio.gather(runner.run(inv["hung-01"], [Step("ssh", "show version")]),
                                          runner.run(inv["agg-01"], [Step("ssh", "show clock")]),
                                          runner.run(inv["r1-11311"], [Step("ssh", "show clock")]))
        assert hung.results[0].error_kind == "timeout", hung.results
        assert a.results[0].ok and b.results[0].ok
        assert runner.peak == 1  # one diagnostic at a time, as configured
        assert time.monotonic() - started < 20
    finally:
        runner.close()


def test_opened_incident_gets_its_parents_diagnostics_on_the_timeline(
        diagnostic_peers: DiagnosticPeers, tmp_path: Path) -> None:  # noqa: F811
    engine = open_database(f"sqlite:///{tmp_path / 'alerting.sqlite'}")
    repo = IncidentRepository(engine)
    subscriber = build_diagnostics(diagnostic_peers.inventory, repo)
    try:
        now = int(time.time())
        cond = Condition(key="device_down:r1-11311", kind=IncidentKind.DEVICE_DOWN, severity=Severity.MAJOR,
                         title="Mất kết nối: Router truy nhập (Phường Hồng Bàng)", why="không trả lời",
                         since=now, province="31", commune="11311", site="hq-11311", device="r1-11311",
                         affected=("pwr-11311",))
        cut = Condition(key="communes_cut_off:r1-11311", kind=IncidentKind.COMMUNES_CUT_OFF,
                        severity=Severity.CRITICAL, title="1 xã/phường mất kết nối", why="thiết bị cha hỏng",
                        since=now, province="31", commune="11311", site="hq-11311", device="r1-11311")
        changes = IncidentManager(repo).reconcile([cond, cut], now)
        subscriber(changes)
        assert subscriber.wait_idle(60)
        incident = repo.get(changes[0].incident.id)
        diag = [e for e in incident.events if e.kind == "diagnostic"]
        assert len(diag) == 1, incident.events
        event = diag[0]
        assert event.data["device"] == "agg-01" and event.data["target"] == "parent"
        assert event.text.startswith("Chẩn đoán tự động trên thiết bị cha agg-01 (NETCONF, SSH CLI): 5/5")
        steps = {s["request"]: s for s in event.data["steps"]}
        assert "IP-Address      OK? Method Status" in steps["show ip interface brief"]["output"]
        assert "ge-0/0/0" in steps["interfaces"]["output"]
        assert "nc-pass" not in str(event.data) and "user" not in event.text  # no secrets on the timeline
        # the cut-off incident asks the same parent for a subset of the same checks: shared, not re-run
        shared = [e for e in repo.get(changes[1].incident.id).events if e.kind == "diagnostic"]
        assert len(shared) == 1 and "dùng lại kết quả lần chạy" in shared[0].text, shared
        assert shared[0].data["reused_from"] == event.data["started"]
        assert subscriber.runner.peak == 1
    finally:
        subscriber.close()
        engine.dispose()
