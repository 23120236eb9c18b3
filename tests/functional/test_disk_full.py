"""A full or read-only data disk never blinds the monitor (issue 18, item 2).

Real filesystems, no mocks: each test mounts a small tmpfs (needs root; the
fixture unmounts it) and fills it with a file of zeros until the kernel says
ENOSPC, or mounts it read-only. The service is the real one (settings, store,
spool, alerting database, poll cycle, self-monitoring, ``/readyz``); only the
devices' answers are scripted (a collector that says which devices time out).
"""

from __future__ import annotations

import asyncio
import errno
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from alerting.core import AlertingCore
from alerting.db import database_url, open_database
from alerting.rules.selfmon import SelfMonitor
from alerting.staterepo import write_health
from alerting.states import Status
from collectors.base import PollResult
from inventory.inventory import Device
from inventory.loader import load_inventory
from poller.confirm import Confirmation
from poller.cycle import PollCycle
from store.base import Sample
from store.factory import StoreConfig, open_store
from store.spool.segments import Spool
from tests.functional.conftest import free_tcp_port
from trucban.service import build_service
from trucban.settings import load_settings

pytestmark = pytest.mark.functional
ROOT = Path(__file__).resolve().parents[2]
DEVICES = ["r-11311", "r-11329", "r-11359", "r-10507", "r-10525"]
OUTAGE = DEVICES[:4]  # a staged outage of 4 devices, as in the issue
INVENTORY = "province: \"31\"\ncommunes:\n" + "".join(
    f"  - code: \"{d[2:]}\"\n" for d in DEVICES) + "sites:\n" + "".join(
    f"  - {{id: hq-{d[2:]}, name: Trụ sở {d[2:]}, kind: commune_hq, commune: \"{d[2:]}\"}}\n"
    for d in DEVICES) + "devices:\n" + "".join(
    f"  - {{id: {d}, name: Router {d[2:]}, site: hq-{d[2:]}, role: router, address: 10.31.{i}.1}}\n"
    for i, d in enumerate(DEVICES, 1))


def _mount(where: Path, *options: str) -> None:
    where.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", ",".join(options), "tmpfs", str(where)], check=True,
                   capture_output=True)


@pytest.fixture()
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 64 MiB filesystem (tmpfs), unmounted afterwards."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small filesystem needs root")
    where = tmp_path / "disk"
    try:
        _mount(where, "size=64m", "mode=0755")
    except subprocess.CalledProcessError as exc:
        pytest.skip(f"cannot mount tmpfs here: {exc.stderr.decode().strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def fill(disk: Path) -> Path:
    """Write zeros until the kernel refuses (ENOSPC); the file that did it."""
    filler = disk / "filler"
    chunk = b"\0" * 2**20
    with open(filler, "wb", buffering=0) as f:
        while True:
            try:
                f.write(chunk)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC
                break
        while True:  # the last, partial megabyte too
            try:
                f.write(b"\0" * 4096)
            except OSError:
                break
    assert os.statvfs(disk).f_bavail == 0
    return filler


class ScriptedDevices:
    """The devices' answers: everyone answers except the ``silent`` ones (a timeout)."""

    def __init__(self) -> None:
        self.silent: set[str] = set()

    async def poll(self, device: Device, tags: dict[str, str]) -> PollResult:
        ts = int(time.time())
        if device.id in self.silent:
            return PollResult(device.id, False, ts, error=f"{device.id}: no SNMP answer (timeout)",
                              error_kind="timeout")
        return PollResult(device.id, True, ts, samples=[Sample("if_traffic", tags, {"in_octets": ts}, ts)])


def cycle_of(service_store: object, core: AlertingCore, devices: ScriptedDevices) -> PollCycle:
    """The real poll cycle (store write, then the alerting core as its sink)."""
    return PollCycle(core.inventory, devices, service_store, core, interval_s=30,  # type: ignore[arg-type]
                     selector=lambda _d: True, confirmation=Confirmation(rechecks=0))


async def one_cycle(cycle: PollCycle) -> None:
    await cycle.run()
    await cycle.drain()


def test_full_disk_detection_still_raising_incidents(small_disk: Path) -> None:
    """The whole data dir on a disk that fills up: an outage opens its incidents, /readyz names the disk."""
    inventory_file = small_disk.parent / "inventory.yaml"
    inventory_file.write_text(INVENTORY, encoding="utf-8")
    data = small_disk / "data"
    settings = load_settings(env={}, data_dir=data, http_port=free_tcp_port(), notify_enabled=False,
                             reports_enabled=False)
    service = build_service(settings, load_inventory(inventory_file))
    service.store.disk_retry_s = 0.0
    core = service.alerting
    assert core.reserve is not None and core.reserve.path.exists()  # room kept for incidents
    devices = ScriptedDevices()
    cycle = cycle_of(service.store, core, devices)
    client = TestClient(service.app())
    try:
        asyncio.run(one_cycle(cycle))
        assert all(core.tracker.states[d].status is Status.UP for d in DEVICES)
        assert client.get("/readyz").status_code == 200

        filler = fill(small_disk)
        devices.silent = set(OUTAGE)
        asyncio.run(one_cycle(cycle))  # nothing raised: the poll cycle went to the end

        # the watch went on: states in memory, and the incidents were opened (the reserve gave room)
        assert all(core.tracker.states[d].status is Status.DOWN for d in OUTAGE)
        active = core.incidents.active()
        assert {f"device_down:{d}" for d in OUTAGE} <= set(active), sorted(active)
        # the samples that could not be kept were dropped and counted, not raised
        state = service.store.state()
        assert state.disk == "full" and state.disk_dropped > 0 and state.dropped >= state.disk_dropped
        assert state.disk_path is not None and str(small_disk) in state.disk_path

        ready = client.get("/readyz")
        assert ready.status_code == 503
        texts = " | ".join(p["text"] for p in ready.json()["problems"])
        assert "đĩa đầy" in texts and str(small_disk) in texts, texts
        assert "scheduler_stalled" not in {p["code"] for p in ready.json()["problems"]}
        metrics = client.get("/metrics").text
        lost = next(line for line in metrics.splitlines()
                    if line.startswith("trucban_metric_samples_lost_disk_total"))
        assert float(lost.split()[-1]) > 0

        # self-monitoring raised its own incident naming the cause
        asyncio.run(one_cycle(cycle))
        selfinc = core.incidents.active().get("store_unreachable")
        assert selfinc is not None and "đĩa đầy" in selfinc.title + selfinc.why, core.incidents.active()

        # room again: metrics are written, the outage recovers through the same path
        filler.unlink()
        devices.silent = set()
        asyncio.run(cycle.poll_now([core.inventory.devices[d] for d in OUTAGE]))  # (they are in backoff)
        asyncio.run(one_cycle(cycle))
        assert service.store.state().disk is None
        assert not {f"device_down:{d}" for d in OUTAGE} & set(core.incidents.active())
        assert service.store.latest("reachability", {"device": OUTAGE[0]})[0].fields["up"] == 1
    finally:
        client.close()
        service.store.close()
        core.engine.dispose()


def test_alerting_database_on_a_full_disk_keeps_the_picture_and_catches_up(small_disk: Path) -> None:
    """No reserve, the alerting database itself cannot grow: nothing crashes, states stay in memory,
    the failure is counted and named; once there is room the incidents open with their real start."""
    inventory_file = small_disk.parent / "inventory.yaml"
    inventory_file.write_text(INVENTORY, encoding="utf-8")
    inventory = load_inventory(inventory_file)
    data = small_disk / "data"
    store = open_store(StoreConfig(data / "metrics.sqlite", data / "spool"))
    engine = open_database(database_url(data / "alerting.sqlite"))
    core = AlertingCore(inventory, store, engine, reserve_bytes=0)
    monitor = SelfMonitor(None, store, engine)
    core.rule_set = (*core.rule_set, monitor)
    devices = ScriptedDevices()
    cycle = cycle_of(store, core, devices)
    try:
        asyncio.run(one_cycle(cycle))
        filler = fill(small_disk)
        devices.silent = set(OUTAGE)
        down_at = int(time.time())
        asyncio.run(one_cycle(cycle))  # nothing raised

        assert all(core.tracker.states[d].status is Status.DOWN for d in OUTAGE)  # the truth, in memory
        health = write_health(engine)
        assert health.failing and health.fault is not None and health.fault.kind == "full", health
        assert {c.key for c in core.unrecorded} >= {f"device_down:{d}" for d in OUTAGE}
        codes = {p.code: p.text for p in monitor.problems()}
        unwritable = codes["alerting_db_unwritable"]
        assert "đĩa đầy" in unwritable and str(small_disk) in unwritable

        filler.unlink()
        asyncio.run(one_cycle(cycle))  # still down; now everything can be written
        active = core.incidents.active()
        for d in OUTAGE:
            incident = active[f"device_down:{d}"]
            assert incident.opened_at <= down_at + 1  # since the outage, not since the disk had room
        assert not health.failing
        spans = core.history.intervals(down_at - 60, int(time.time()) + 1, OUTAGE)
        assert {i.subject for i in spans if i.status == "down"} == set(OUTAGE)  # history caught up
    finally:
        store.close()
        engine.dispose()


def test_spool_on_a_full_disk_drops_whole_batches_and_stays_readable(small_disk: Path) -> None:
    """ENOSPC in the middle of a spool record: the record is cut off, earlier ones replay intact."""
    spool = Spool(small_disk / "spool", max_bytes=2**30)
    try:
        batch = [Sample("m", {"device": f"d{i}"}, {"v": i, "pad": "x" * 200}, 1_700_000_000)
                 for i in range(500)]
        assert spool.append(batch)
        fill(small_disk)
        with pytest.raises(OSError) as refused:
            for _ in range(100):
                spool.append(batch)
        assert refused.value.errno == errno.ENOSPC
        (small_disk / "filler").unlink()
        assert spool.append(batch)
        chunk = spool.peek(10_000)
        assert chunk is not None and len(chunk.samples) == spool.depth
        assert [s.fields["v"] for s in chunk.samples] == list(range(500)) * (spool.depth // 500)
    finally:
        spool.close()
    reopened = Spool(small_disk / "spool", max_bytes=2**30)  # and a restart finds no torn record
    try:
        assert reopened.depth == len(chunk.samples)
    finally:
        reopened.close()


@pytest.mark.parametrize("how", ["full", "read_only"])
def test_start_up_on_a_full_or_read_only_data_dir_is_one_line(tmp_path: Path, how: str) -> None:
    """``trucban run`` on a full or read-only data dir: exit 2, one line naming the dir, no traceback."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small filesystem needs root")
    disk = tmp_path / "disk"
    _mount(disk, "size=4m", *(["ro"] if how == "read_only" else []))
    try:
        if how == "full":
            fill(disk)
        inventory_file = tmp_path / "inventory.yaml"
        inventory_file.write_text(INVENTORY, encoding="utf-8")
        env = {k: v for k, v in os.environ.items() if not k.startswith("TRUCBAN_")}
        env |= {"TRUCBAN_DATA_DIR": str(disk / "data"), "COLUMNS": "80"}
        done = subprocess.run([sys.executable, "-m", "trucban.cli", "run", "--inventory", str(inventory_file),
                               "--port", str(free_tcp_port())], cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=120)
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and len(lines) == 1, done.stderr
    words = "đĩa đầy" if how == "full" else "chỉ đọc"
    assert words in lines[0] and str(disk / "data") in lines[0] and "TRUCBAN_DATA_DIR" in lines[0]
