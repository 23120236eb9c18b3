"""fping's -C summary read back into icmplib's statistics, lost probes included."""

from __future__ import annotations

from collectors.icmp.fping import FpingOptions, parse

OUTPUT = """127.0.0.1 : 0.040 0.122 0.026
::1       : 0.029 - 0.031
10.0.0.9  : - - -
ICMP Host Unreachable from 10.0.0.1 for ICMP Echo sent to 10.0.0.9
"""


def test_summary_lines_become_hosts_with_loss_and_rtts() -> None:
    hosts = parse(OUTPUT, 3)
    assert set(hosts) == {"127.0.0.1", "::1", "10.0.0.9"}  # the unreachable notice is not a host
    lo = hosts["127.0.0.1"]
    assert lo.packets_sent == 3 and lo.packets_received == 3 and lo.packet_loss == 0
    assert lo.min_rtt == 0.026 and lo.max_rtt == 0.122 and abs(lo.avg_rtt - 0.063) < 1e-3
    assert hosts["::1"].packets_received == 2 and hosts["::1"].packet_loss == 0.33  # rounded by icmplib
    assert hosts["10.0.0.9"].packets_received == 0 and hosts["10.0.0.9"].packet_loss == 1


def test_the_command_line_carries_count_spacing_and_timeout_in_ms() -> None:
    argv = FpingOptions(count=3, interval_s=0.2, timeout_s=1.0).argv("/usr/bin/fping")
    assert argv == ["/usr/bin/fping", "-q", "-C", "3", "-p", "200", "-t", "1000", "-i", "1", "-r", "0"]
