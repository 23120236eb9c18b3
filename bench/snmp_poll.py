"""Benchmark: SNMP polling throughput and CPU per device — Trucban vs net-snmp vs snmp_exporter.

Run ``python -m bench.snmp_poll`` from the repository root. It writes N
simulated routers (4 interfaces each) for snmpsim, puts a replay responder in
front (the first answer to each distinct request comes from snmpsim, later
ones are replayed with the new request-id, ~tens of µs each, so the simulator
is not the bottleneck), then polls every device R rounds with:

a) Trucban's poller (PollCycle + SnmpCollector, fast engine, one GETBULK per
   device: the ``base`` profile's scalars as non-repeaters, its 12 IF-MIB
   columns as repeaters), in its own process;
b) net-snmp's C library through ezsnmp (GET of the scalars + one GETBULK of
   the columns per device), in its own process, with threads;
c) Prometheus's snmp_exporter (Debian ``prometheus-snmp-exporter``), one
   module per community, scraped over HTTP on loopback.

Pollers run pinned to core 0 (``taskset``), responder/snmpsim/scraper to core
1. CPU is user+system time of the polling process only (/proc or rusage).
Prints the issue's line last. Options: ``--devices``, ``--rounds``,
``--concurrency``, ``--skip-exporter``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
IF_NAMES = ["GigabitEthernet0/0/0", "GigabitEthernet0/0/1", "GigabitEthernet0/0/2", "GigabitEthernet0/0/3"]
CLK_TCK = os.sysconf("SC_CLK_TCK")


def community(i: int) -> str:
    """Community (= device id) of the i-th bench device."""
    return f"bench-r{i:05d}"


def bench_oids() -> tuple[list[str], list[str]]:
    """(scalars, columns) of the ``base`` profile, as every side fetches them."""
    from collectors.snmp.profile import load_profiles
    from collectors.snmp.values import oid_text

    base = load_profiles()["base"]
    scalars = [oid_text(o) for fields in base.scalars.values() for o in fields.values()]
    columns = [oid_text(o) for t in base.tables for o in t.columns.values()]
    return scalars, columns


def taskset(core: int) -> list[str]:
    """Command prefix pinning a child to one core (nothing if taskset or the core is missing)."""
    if shutil.which("taskset") and (os.cpu_count() or 1) > core:
        return ["taskset", "-c", str(core)]
    return []


def proc_cpu_s(pid: int) -> float:
    """user+system CPU seconds of a process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


# ---------------------------------------------------------------- replay responder


class _Replay(asyncio.DatagramProtocol):
    """Answers each distinct request from cache; forwards the first one to snmpsim."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.cache: dict[tuple, tuple[bytes, bytes]] = {}
        self.waiting: dict[int, tuple[tuple, list[tuple[Any, int]]]] = {}
        self.transport: Any = None
        self.up: Any = None

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: Any) -> None:
        from collectors.snmp import ber

        try:
            pdu = ber.decode(data)
        except ber.BerError:
            return
        key = (pdu.version, pdu.community, pdu.tag, pdu.error_status, pdu.error_index,
               tuple(o for o, _ in pdu.binds))
        hit = self.cache.get(key)
        if hit is not None:
            head, tail = hit
            body = ber.tlv(ber.RESPONSE, ber.enc_int(pdu.request_id) + tail)
            self.transport.sendto(ber.tlv(0x30, head + body), addr)
            return
        self.waiting.setdefault(pdu.request_id, (key, []))[1].append((addr, pdu.request_id))
        self.up.sendto(data, self.upstream)

    def upstream_reply(self, data: bytes) -> None:
        from collectors.snmp import ber

        pdu = ber.decode(data)
        entry = self.waiting.pop(pdu.request_id, None)
        if entry is None:
            return
        key, clients = entry
        head = ber.enc_int(pdu.version) + ber.tlv(0x04, pdu.community)
        tail = ber.enc_int(pdu.error_status) + ber.enc_int(pdu.error_index) + ber.varbinds(pdu.binds)
        self.cache[key] = (head, tail)
        for addr, _ in clients:
            self.transport.sendto(data, addr)


class _Upstream(asyncio.DatagramProtocol):
    def __init__(self, replay: _Replay) -> None:
        self.replay = replay

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.replay.upstream_reply(data)


async def _serve_replay(port: int, upstream_port: int) -> None:
    from collectors.snmp.fast import make_socket

    loop = asyncio.get_running_loop()
    replay = _Replay(("127.0.0.1", upstream_port))
    import socket

    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    sock.bind(("127.0.0.1", port))
    await loop.create_datagram_endpoint(lambda: replay, sock=sock)
    up, _ = await loop.create_datagram_endpoint(lambda: _Upstream(replay), sock=make_socket(socket.AF_INET))
    replay.up = up
    print("ready", flush=True)
    await asyncio.Event().wait()


# ---------------------------------------------------------------- pollers (child processes)


def _worker_trucban(port: int, devices: int, rounds: int, concurrency: int) -> dict[str, Any]:
    import resource

    from pydantic import SecretStr

    from collectors.snmp.collector import SnmpCollector
    from inventory.credentials import SnmpCommunity
    from inventory.model import Device

    creds = {community(i): SnmpCommunity(kind="snmp_v2c", community=SecretStr(community(i)))
             for i in range(devices)}
    devs = [Device.model_validate({"id": community(i), "name": "r", "site": "s", "role": "router",
                                   "address": "127.0.0.1",
                                   "snmp": {"credential": community(i), "port": port, "profile": "base",
                                            "timeout_s": 3, "retries": 1}}) for i in range(devices)]

    async def main() -> dict[str, Any]:
        collector = SnmpCollector(creds)
        sem = asyncio.Semaphore(concurrency)
        tags = {d.id: {"device": d.id, "role": "router"} for d in devs}

        async def one(d: Device) -> Any:
            async with sem:
                return await collector.poll(d, tags[d.id])

        for _ in range(2):  # warm-up: fills the responder cache; the 2nd asks exactly the rows seen
            results = await asyncio.gather(*(one(d) for d in devs))
        samples = len(results[0].samples)
        usage = resource.getrusage(resource.RUSAGE_SELF)
        cpu0, t0, ok = usage.ru_utime + usage.ru_stime, time.perf_counter(), 0
        for _ in range(rounds):
            results = await asyncio.gather(*(one(d) for d in devs))
            ok += sum(r.ok for r in results)
        wall = time.perf_counter() - t0
        usage = resource.getrusage(resource.RUSAGE_SELF)
        await collector.close()
        errors = sorted({r.error for r in results if not r.ok and r.error})[:3]
        return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime - cpu0, "polled": devices * rounds,
                "ok": ok, "samples_per_device": samples, "errors": errors}

    return asyncio.run(main())


def _worker_netsnmp(port: int, devices: int, rounds: int, threads: int) -> dict[str, Any]:
    import resource

    from ezsnmp import Session

    scalars, columns = bench_oids()
    sessions = [Session(hostname="127.0.0.1", port_number=port, version=2, community=community(i),
                        timeout=3, retries=1, set_max_repeaters_to_num=len(IF_NAMES) + 1,
                        print_oids_numerically=True) for i in range(devices)]

    def poll(s: Any) -> int:
        got = s.get(scalars)
        rows = s.bulk_get(columns)
        return len(got) + len(rows)

    with ThreadPoolExecutor(threads) as pool:
        counts = list(pool.map(poll, sessions))  # warm-up
        usage = resource.getrusage(resource.RUSAGE_SELF)
        cpu0, t0, ok = usage.ru_utime + usage.ru_stime, time.perf_counter(), 0
        for _ in range(rounds):
            ok += sum(1 for n in pool.map(poll, sessions) if n)
        wall = time.perf_counter() - t0
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime - cpu0, "polled": devices * rounds,
            "ok": ok, "varbinds_per_device": counts[0]}


# ---------------------------------------------------------------- snmp_exporter


def exporter_config(devices: int) -> str:
    """snmp.yml for snmp_exporter 0.21: one module per community, same OIDs as the others."""
    import yaml

    scalars, columns = bench_oids()
    metrics: list[dict[str, object]] = [{"name": f"s{i}", "oid": o[:-2], "type": "gauge"}
                                        for i, o in enumerate(scalars)]
    metrics += [{"name": f"c{i}", "oid": o, "type": "gauge",
                 "indexes": [{"labelname": "ifIndex", "type": "gauge"}]} for i, o in enumerate(columns)]
    modules = {community(i): {"get": scalars, "walk": columns, "metrics": metrics, "version": 2,
                              "max_repetitions": len(IF_NAMES) + 1, "retries": 1, "timeout": "3s",
                              "auth": {"community": community(i)}} for i in range(devices)}
    return yaml.safe_dump(modules, sort_keys=False)


def run_exporter(tmp: Path, port: int, devices: int, rounds: int) -> dict[str, Any] | None:
    """Scrape every device ``rounds`` times through snmp_exporter; None when it is not installed."""
    import httpx

    binary = shutil.which("prometheus-snmp-exporter") or shutil.which("snmp_exporter")
    if binary is None:
        return None
    from lab.runner import free_udp_port

    conf = tmp / "snmp.yml"
    conf.write_text(exporter_config(devices), encoding="utf-8")
    http_port = free_udp_port()
    proc = subprocess.Popen([*taskset(0), binary, f"--config.file={conf}",
                             f"--web.listen-address=127.0.0.1:{http_port}", "--log.level=error"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{http_port}/snmp"
    try:
        with httpx.Client(timeout=30) as client:
            for _ in range(100):
                try:
                    client.get(f"http://127.0.0.1:{http_port}/")
                    break
                except httpx.HTTPError:
                    time.sleep(0.1)

            def scrape(i: int) -> bool:
                r = client.get(url, params={"target": f"127.0.0.1:{port}", "module": community(i)})
                return r.status_code == 200 and "snmp_scrape_pdus_returned" in r.text and "c0{" in r.text

            with ThreadPoolExecutor(16) as pool:
                list(pool.map(scrape, range(devices)))  # warm-up
                cpu0, t0, ok = proc_cpu_s(proc.pid), time.perf_counter(), 0
                for _ in range(rounds):
                    ok += sum(pool.map(scrape, range(devices)))
                wall = time.perf_counter() - t0
                cpu = proc_cpu_s(proc.pid) - cpu0
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    return {"wall": wall, "cpu": cpu, "polled": devices * rounds, "ok": ok}


# ---------------------------------------------------------------- orchestration


def _child(kind: str, core: int, *args: object) -> dict[str, Any]:
    cmd = [*taskset(core), sys.executable, "-m", "bench.snmp_poll", "--worker", kind,
           *(str(a) for a in args)]
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    if out.returncode != 0:
        raise RuntimeError(f"{kind} worker failed:\n{out.stderr[-2000:]}")
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark (or, with ``--worker``, one polling side)."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--devices", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--concurrency", type=int, default=200)
    ap.add_argument("--netsnmp-threads", type=int, default=8)
    ap.add_argument("--skip-exporter", action="store_true")
    ap.add_argument("--worker", choices=["trucban", "netsnmp", "replay"])
    ap.add_argument("args", nargs="*", type=int)
    opts = ap.parse_args(argv)
    if opts.worker == "replay":
        asyncio.run(_serve_replay(*opts.args))
        return 0
    if opts.worker:
        fn = _worker_trucban if opts.worker == "trucban" else _worker_netsnmp
        print(json.dumps(fn(*opts.args)))
        return 0
    return _run(opts)


def _run(opts: argparse.Namespace) -> int:
    from lab.runner import LabAgents, free_udp_port
    from lab.snmpdata import write_snmprec

    n, rounds = opts.devices, opts.rounds
    with tempfile.TemporaryDirectory(prefix="trucban-bench-") as tmp_s:
        tmp = Path(tmp_s)
        for i in range(n):
            write_snmprec(tmp / "data", community(i), "router", sys_name=f"{community(i)}.bench",
                          sys_descr="Router truy nhập (bench)", if_names=IF_NAMES, seed=i)
        started = time.monotonic()
        lab = LabAgents(tmp / "data", tmp / "state", tmp / "cache", log_level="error")
        lab.start(timeout=180)
        replay_port = free_udp_port()
        cmd = [*taskset(1), sys.executable, "-m", "bench.snmp_poll", "--worker", "replay",
               str(replay_port), str(lab.port)]
        responder = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True)
        try:
            if os.cpu_count() and os.cpu_count() > 1:  # type: ignore[operator]
                subprocess.run(["taskset", "-pc", "1", str(lab._proc.pid)],  # type: ignore[union-attr]
                               capture_output=True, check=False)
            assert responder.stdout is not None
            responder.stdout.readline()
            print(f"# {n} agents ready in {time.monotonic() - started:.1f} s; replay responder on "
                  f"udp/{replay_port}", flush=True)
            tb = _child("trucban", 0, replay_port, n, rounds, opts.concurrency)
            print(f"# trucban: {tb}", flush=True)
            ns = _child("netsnmp", 0, replay_port, n, rounds, opts.netsnmp_threads)
            print(f"# net-snmp (ezsnmp): {ns}", flush=True)
            ex = None if opts.skip_exporter else run_exporter(tmp, replay_port, n, rounds)
            print(f"# snmp_exporter: {ex}", flush=True)
        finally:
            responder.terminate()
            responder.wait(timeout=10)
            lab.stop()
    x = tb["ok"] / tb["wall"]
    c = tb["cpu"] * 1000 / tb["polled"]
    y = ns["ok"] / ns["wall"]
    z = ex["ok"] / ex["wall"] if ex else 0.0
    e = ex["cpu"] * 1000 / ex["polled"] if ex else 0.0
    print(f"# net-snmp CPU per device {ns['cpu'] * 1000 / ns['polled']:.3f} ms; "
          f"trucban/exporter throughput {x / z if z else 0:.2f}x")
    print(f"snmp_poll devices={n} trucban_devices_per_s={x:.0f} trucban_cpu_ms_per_device={c:.3f} "
          f"netsnmp_devices_per_s={y:.0f} exporter_devices_per_s={z:.0f} exporter_cpu_ms_per_device={e:.3f} "
          f"ratio={x / y:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
