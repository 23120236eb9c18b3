"""The collectors benchmark runs end to end with tiny sizes and prints its summary line last."""

from __future__ import annotations

import pytest

from bench import collectors as bench

pytestmark = pytest.mark.functional  # starts real peers (NETCONF server, fakenos, nsd)


def test_bench_prints_summary_last(capsys: pytest.CaptureFixture[str]) -> None:
    bench.main(["--seconds", "0.3", "--devices", "1"])
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last.startswith("collectors netconf_per_s=") and " icmp_per_s=" in last
    assert all(float(part.split("=")[1]) > 0 for part in last.split()[1:])
