"""Real metric-store servers for the store tests, started and stopped by the tests.

- Debian's ``influxdb`` (1.6.7): a genuine InfluxDB 1.x, config written to a
  temporary directory, HTTP on a free loopback port. Exercises v1 ``/write``
  and every InfluxQL read.
- Debian's ``victoria-metrics``: accepts influxdb-client's ``/api/v2/write``;
  read back through ``/api/v1/export``. ``-dedup.minScrapeInterval=1ms`` makes
  a rewrite of the same point replace it, as InfluxDB does.

Both can be stopped, killed and restarted on the same port and data, for the
fault tests. Run as ``python -m tests.functional.store_servers writer …`` this
module is also the child process the kill -9 test kills (see ``writer_main``).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

INFLUXD = "influxd"
VICTORIA = "victoria-metrics"


def free_port() -> int:
    """An unused TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def need(binary: str) -> str:
    """Path of a server binary; skip (fail under CI) when the Debian package is missing."""
    path = shutil.which(binary)
    if path is None:
        message = f"{binary} not installed (bin/bootstrap installs deploy/debian-packages.txt)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


class Server:
    """A server process on a fixed loopback port and data directory, restartable."""

    name = "server"

    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None
        root.mkdir(parents=True, exist_ok=True)

    def command(self) -> list[str]:
        raise NotImplementedError

    def start(self, timeout: float = 30) -> None:
        """Start and wait until ``/ping`` answers."""
        log = open(self.root / "server.log", "ab")  # noqa: SIM115 - the child keeps it
        self.proc = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited: {(self.root / 'server.log').read_text()[-2000:]}")
            try:
                if httpx.get(self.url + "/ping", timeout=1).status_code < 300:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{self.name} did not answer /ping within {timeout}s")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        """Stop (SIGTERM; SIGKILL for a crash) and wait for the process to go."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def restart(self) -> None:
        """Stop if running, start again on the same port and data."""
        self.stop()
        self.start()


class InfluxServer(Server):
    """InfluxDB 1.x (Debian's influxd) in a temporary directory."""

    name = "influxd"

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.binary = need(INFLUXD)
        rpc = free_port()
        (root / "influxdb.conf").write_text(f"""
reporting-disabled = true
bind-address = "127.0.0.1:{rpc}"
[meta]
  dir = "{root}/meta"
[data]
  dir = "{root}/data"
  wal-dir = "{root}/wal"
  query-log-enabled = false
[http]
  bind-address = "127.0.0.1:{self.port}"
  log-enabled = false
[monitor]
  store-enabled = false
[continuous_queries]
  log-enabled = false
""")

    def command(self) -> list[str]:
        return [self.binary, "-config", str(self.root / "influxdb.conf")]

    def query(self, q: str, db: str | None = None) -> dict:
        """Run InfluxQL (POST) and return the JSON answer."""
        params = {"q": q, "epoch": "s"} | ({"db": db} if db else {})
        return httpx.post(self.url + "/query", data=params, timeout=10).json()

    def count(self, db: str, measurement: str, field: str) -> int:
        """How many points of one field the database holds."""
        answer = self.query(f'SELECT count("{field}") FROM "{measurement}"', db)
        series = answer["results"][0].get("series")
        return int(series[0]["values"][0][1]) if series else 0


class VictoriaServer(Server):
    """VictoriaMetrics (Debian's victoria-metrics) in a temporary directory."""

    name = "victoria-metrics"

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.binary = need(VICTORIA)

    def command(self) -> list[str]:
        return [self.binary, f"-storageDataPath={self.root / 'data'}",
                f"-httpListenAddr=127.0.0.1:{self.port}", "-dedup.minScrapeInterval=1ms",
                "-retentionPeriod=100y", "-search.disableCache", "-loggerLevel=ERROR"]

    def export(self, match: str) -> list[dict]:
        """Every series matching ``match`` (a series selector), after a forced flush."""
        httpx.get(self.url + "/internal/force_flush", timeout=10)
        response = httpx.get(self.url + "/api/v1/export", params={"match[]": match, "start": "0"}, timeout=30)
        response.raise_for_status()
        return [json.loads(line) for line in response.text.splitlines() if line.strip()]

    def count(self, metric: str, extra: str = "") -> int:
        """Number of samples of one metric (VictoriaMetrics names it measurement_field)."""
        selector = "{" + f'__name__="{metric}"' + (f",{extra}" if extra else "") + "}"
        return sum(len(series["values"]) for series in self.export(selector))


@pytest.fixture(scope="module")
def influxdb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InfluxServer]:
    """A running InfluxDB 1.6.7 for the tests of one module."""
    server = InfluxServer(tmp_path_factory.mktemp("influxdb"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def victoria(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VictoriaServer]:
    """A running VictoriaMetrics for the tests of one module."""
    server = VictoriaServer(tmp_path_factory.mktemp("victoria"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


# -- the child process of the kill -9 test -----------------------------------------------------------------

def writer_main(argv: list[str]) -> None:
    """Open the store as Trucban does (settings → open_store) and write one batch per poll forever.

    Prints ``acked N`` after the N-th batch was accepted, so the test knows
    exactly what the store promised to keep before it kills this process.
    """
    from store.base import Sample
    from store.factory import open_store
    from trucban.settings import load_settings

    data_dir, influx_url, devices, t0 = argv[0], argv[1], int(argv[2]), int(argv[3])
    settings = load_settings(env={}, data_dir=Path(data_dir), influx_url=influx_url)
    store = open_store(settings.store)
    cycle = 0
    while True:
        ts = t0 + 30 * cycle
        store.write([Sample("reachability", {"commune": f"c{d % 3}", "device": f"d{d}"}, {"up": 1}, ts)
                     for d in range(devices)])
        cycle += 1
        print(f"acked {cycle}", flush=True)
        time.sleep(0.01)


if __name__ == "__main__" and sys.argv[1:2] == ["writer"]:
    writer_main(sys.argv[2:])
