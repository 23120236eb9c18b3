"""Benchmark the coordinator API and page on a synthetic national inventory.

    .venv/bin/python -m bench.api [--rate 200] [--duration 10] [--communes 3321] [--live 50]

Builds every commune of the reference data (3,321) with 8 devices each
(~26,600 devices) and current states (most up; some BTS down, on battery with
minutes left, or communes isolated), serves Trucban on loopback, and loads
``/api/coordinator?province=31`` and the ``/coordinator?province=31`` page at a
fixed rate from a separate process (open loop, keep-alive connections), while
that process also holds ``--live`` live channels (``GET /api/live``, server-sent
events, as that many open screens would) and reads every event on them. The last
line is ``api rps=R p50_ms=A p99_ms=B page_kb=C live_clients=N``; page_kb is the
gzip-transferred size of Hải Phòng's coordinator page with its stylesheet and
scripts, live_clients the fewest live channels the server held open at any
moment of the measured load (sampled every 0.25 s).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import random
import re
import secrets
import statistics
import tempfile
import threading
import time
from ipaddress import ip_address
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import uvicorn
from fastapi import FastAPI

from alerting.core import AlertingCore
from alerting.db import database_url, open_database
from alerting.states import DeviceState, Status
from api.app import create_app
from api.auth.accounts import AccountStore
from api.auth.audit import AuditLog
from api.auth.roles import Role
from api.context import ApiContext, Security, WebOptions
from inventory.inventory import Inventory
from inventory.model import CommuneEntry, Device, DeviceRole, Link, LinkKind, LinkMedium, Site, SiteKind
from inventory.reference import load_reference
from poller.cycle import CycleReport
from store.base import Sample
from store.sqlite import SqliteMetricStore

PROVINCE = "31"  # Hải Phòng
PASSWORD = secrets.token_urlsafe(16)
ROLES = (
    ("r1", "router"),
    ("sw1", "switch"),
    ("sw2", "switch"),
    ("bts1", "bts"),
    ("pwr1", "power"),
    ("bts2", "bts"),
    ("pwr2", "power"),
    ("leo1", "leo"),
)


class NoCycle:
    """No poller in the benchmark: the states are set up front."""

    last: CycleReport | None = None


def national_inventory(limit: int | None = None) -> Inventory:
    """Every commune of Vietnam (or the first ``limit``), 3 sites and 8 devices each, 2 links."""
    ref = load_reference()
    codes = sorted(ref.communes, key=lambda c: (ref.communes[c].province_code != PROVINCE, c))[:limit]
    sites, devices, links, communes = {}, {}, {}, {}
    for code in codes:
        c = ref.communes[code]
        communes[code] = CommuneEntry(code=code, command_post=f"Ban Chỉ huy {c.name}")
        for sid, kind, off in (
            (f"c{code}-hq", "commune_hq", 0.0),
            (f"c{code}-bts", "bts_site", 0.003),
            (f"c{code}-bts2", "bts_site", -0.004),
        ):
            sites[sid] = Site(
                id=sid,
                name=f"{sid} {c.name}",
                kind=SiteKind(kind),
                commune=code,
                lat=c.lat + off,
                lon=c.lon + off,
            )
        for suffix, role in ROLES:
            site = (
                f"c{code}-hq"
                if role in ("router", "switch", "leo")
                else (f"c{code}-bts2" if suffix.endswith("2") else f"c{code}-bts")
            )
            dev_id = f"c{code}-{suffix}"
            devices[dev_id] = Device(
                id=dev_id,
                name=f"{role} {c.name}",
                site=site,
                role=DeviceRole(role),
                address=ip_address("127.0.0.1"),
                parents=() if suffix == "r1" else (f"c{code}-r1",),
                hardening_level=4 if role in ("bts", "power") else None,
            )
        links[f"c{code}-primary"] = Link(
            id=f"c{code}-primary",
            device=f"c{code}-r1",
            if_index=1,
            kind=LinkKind.PRIMARY,
            medium=LinkMedium.FIBRE,
            commune=code,
        )
        links[f"c{code}-backup"] = Link(
            id=f"c{code}-backup",
            device=f"c{code}-r1",
            if_index=2,
            kind=LinkKind.BACKUP,
            medium=LinkMedium.CELLULAR_4G,
            commune=code,
        )
    return Inventory(
        province=PROVINCE,
        reference=ref,
        communes=communes,
        sites=sites,
        devices=devices,
        links=links,
        credentials={},
    )


def seed(core: AlertingCore, store: SqliteMetricStore, inv: Inventory, now: int) -> dict[str, int]:
    """Current states and UPS readings: mostly healthy, some BTS down, on battery, or isolated."""
    rng = random.Random(31)
    tracker = core.tracker
    picked = {"down": 0, "battery": 0, "isolated": 0}
    samples = []
    for code in inv.watched_communes:
        roll = rng.random()
        fate = "isolated" if roll < 0.02 else "down" if roll < 0.06 else "battery" if roll < 0.12 else "ok"
        picked[fate] = picked.get(fate, 0) + 1
        for dev_id in inv.devices_by_commune[code]:
            status = Status.UP
            if fate == "isolated":
                status = Status.DOWN if dev_id.endswith("-r1") else Status.UNREACHABLE
            elif fate == "down" and dev_id.endswith("-bts1"):
                status = Status.DOWN
            tracker.states[dev_id] = DeviceState(dev_id, status, now - 600, now, 0, "bench")
        for link_id in (f"c{code}-primary", f"c{code}-backup"):
            tracker.links[link_id] = DeviceState(
                link_id, Status.UP if fate != "isolated" else Status.UNKNOWN, now - 600, now
            )
        for pwr in (f"c{code}-pwr1", f"c{code}-pwr2"):
            on_battery = fate == "battery" and pwr.endswith("1")
            tags = {"device": pwr, "commune": code, "role": "power", "province": inv.province}
            fields = {
                "charge_pct": 62.0 if on_battery else 100.0,
                "output_source": 5 if on_battery else 3,
                "minutes_remaining": 95 if on_battery else 480,
                "seconds_on_battery": 1200 if on_battery else 0,
            }
            samples.append(Sample("ups", tags, fields, now))
    store.write(samples)
    return picked


def serve(app: FastAPI, port: int) -> uvicorn.Server:
    """Uvicorn in a thread of this process (the load comes from another process)."""
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            log_level="warning",  # type: ignore[arg-type]
            access_log=False,
        )
    )
    threading.Thread(target=server.run, daemon=True).start()
    deadline = time.monotonic() + 60
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("server did not start")
        time.sleep(0.05)
    return server


def login(url: str) -> httpx.Client:
    """A client logged in as the benchmark's coordinator."""
    client = httpx.Client(base_url=url, timeout=30)
    page = client.get("/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf is not None
    answer = client.post("/login", data={"username": "bench", "password": PASSWORD, "csrf": csrf.group(1)})
    if answer.status_code != 303:
        raise RuntimeError(f"login failed: {answer.status_code}")
    return client


def page_kb(client: httpx.Client) -> float:
    """Gzip-transferred KB of Hải Phòng's coordinator page plus its stylesheet and scripts."""
    total = 0
    page = client.get(f"/coordinator?province={PROVINCE}", headers={"Accept-Encoding": "gzip"})
    page.raise_for_status()
    total += page.num_bytes_downloaded
    for asset in re.findall(r'(?:href|src)="(/static/[^"]+)"', page.text):
        answer = client.get(asset, headers={"Accept-Encoding": "gzip"})
        total += answer.num_bytes_downloaded
    return total / 1024


def load(url: str, cookies: dict[str, str], rate: float, duration: float, live: int, out: mp.Queue) -> None:
    """Separate process: ``live`` live channels held open, and open-loop requests at ``rate``/s for
    ``duration`` s; puts "ready" once every channel had its first event, then the latencies."""
    out.put(asyncio.run(_load(url, cookies, rate, duration, live, out)))


async def _live_channel(host: str, port: int, cookie: str, opened: asyncio.Event, events: list[int]) -> None:
    """One open screen: ``GET /api/live`` held open, every server-sent event read and counted."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(f"GET /api/live HTTP/1.1\r\nHost: {host}\r\nCookie: {cookie}\r\n"
                     "Accept: text/event-stream\r\n\r\n".encode())
        head = await reader.readuntil(b"\r\n\r\n")
        if int(head.split(b" ", 2)[1]) != 200:
            raise RuntimeError(f"live channel refused: {head[:60]!r}")
        while line := await reader.readline():
            if line.startswith(b"event: state"):
                events[0] += 1
                opened.set()
    finally:
        writer.close()


async def _load(
    url: str,
    cookies: dict[str, str],
    rate: float,
    duration: float,
    live: int = 0,
    out: mp.Queue | None = None,
) -> dict:
    """Open-loop load over a pool of keep-alive HTTP/1.1 connections (raw asyncio streams: the
    client must cost far less than the server, or it measures itself), beside ``live`` live channels."""
    host, port = url.removeprefix("http://").split(":")
    cookie = "; ".join(f"{k}={v}" for k, v in cookies.items())
    live_events = [0]
    opened = [asyncio.Event() for _ in range(live)]
    channels = [asyncio.create_task(_live_channel(host, int(port), cookie, o, live_events)) for o in opened]
    if channels:
        await asyncio.wait_for(asyncio.gather(*(o.wait() for o in opened)), timeout=60)
    if out is not None:
        out.put("ready")
    paths = [f"/api/coordinator?province={PROVINCE}", f"/coordinator?province={PROVINCE}"]
    requests = [
        (f"GET {p} HTTP/1.1\r\nHost: {host}\r\nCookie: {cookie}\r\nAccept-Encoding: gzip\r\n\r\n").encode()
        for p in paths
    ]
    pool: asyncio.Queue = asyncio.Queue()
    for _ in range(64):
        pool.put_nowait(await asyncio.open_connection(host, int(port)))
    latencies: list[float] = []
    errors = 0

    async def one(request: bytes) -> None:
        nonlocal errors
        started = time.perf_counter()
        reader, writer = await pool.get()
        try:
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head.split(b" ", 2)[1])
            match = re.search(rb"(?i)content-length: *([0-9]+)", head)
            if match:
                await reader.readexactly(int(match.group(1)))
            else:  # chunked
                while True:
                    size = int((await reader.readuntil(b"\r\n")).strip(), 16)
                    await reader.readexactly(size + 2)
                    if size == 0:
                        break
            if status == 200:
                latencies.append((time.perf_counter() - started) * 1000)
            else:
                errors += 1
            pool.put_nowait((reader, writer))
        except (OSError, asyncio.IncompleteReadError, ValueError):
            errors += 1
            pool.put_nowait(await asyncio.open_connection(host, int(port)))

    total = int(rate * duration)
    t0 = time.perf_counter()
    tasks = []
    for i in range(total):
        delay = t0 + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(requests[i % len(requests)])))
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - t0
    while not pool.empty():
        _, writer = pool.get_nowait()
        writer.close()
    broken = sum(1 for c in channels if c.done())  # a live channel that ended during the load
    for channel in channels:
        channel.cancel()
    await asyncio.gather(*channels, return_exceptions=True)
    return {"latencies": latencies, "errors": errors, "elapsed": elapsed, "live_events": live_events[0],
            "live_broken": broken}


def percentile(values: list[float], q: float) -> float:
    """The q-quantile (0..1) by nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def main() -> None:
    """Build, serve, load, print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=200.0, help="requests per second")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of load")
    parser.add_argument("--communes", type=int, default=None, help="only the first N communes (smoke runs)")
    parser.add_argument("--live", type=int, default=50, help="live channels (open screens) during the load")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="trucban-bench-api-") as tmp:
        started = time.perf_counter()
        inv = national_inventory(args.communes)
        store = SqliteMetricStore(Path(tmp) / "metrics.sqlite")
        engine = open_database(database_url(Path(tmp) / "alerting.sqlite"))
        core = AlertingCore(inv, store, engine, timezone=ZoneInfo("Asia/Ho_Chi_Minh"))
        now = int(time.time())
        picked = seed(core, store, inv, now)
        core.manager.reconcile(core.conditions(now), now)
        security = Security(AccountStore(engine, secrets.token_bytes(32)), AuditLog(engine))
        security.accounts.create_user("bench", PASSWORD, Role.COORDINATOR)
        ctx = ApiContext(
            inv,
            core.tracker,
            store,
            NoCycle(),
            ZoneInfo("Asia/Ho_Chi_Minh"),
            core,
            security=security,
            web=WebOptions(),
        )
        port = _free_port()
        app = create_app(ctx)
        server = serve(app, port)
        url = f"http://127.0.0.1:{port}"
        print(
            f"inventory: {len(inv.watched_communes)} communes, {len(inv.devices)} devices "
            f"({picked['down']} BTS down, {picked['battery']} on battery, {picked['isolated']} isolated), "
            f"{len(core.incidents.active())} active incidents; ready in {time.perf_counter() - started:.1f} s"
        )
        client = login(url)
        size = page_kb(client)
        rows = client.get(f"/api/coordinator?province={PROVINCE}").json()
        print(
            f"coordinator rows for province {PROVINCE}: {len(rows)}; "
            f"national list: {len(client.get('/api/coordinator').json())}"
        )
        for _ in range(20):  # warm up
            client.get(f"/api/coordinator?province={PROVINCE}")
        queue: mp.Queue = mp.get_context("spawn").Queue()
        proc = mp.get_context("spawn").Process(
            target=load, args=(url, dict(client.cookies), args.rate, args.duration, args.live, queue)
        )
        proc.start()
        assert queue.get(timeout=120) == "ready"
        held = live_clients_during(app, queue, args.duration + 120)
        result = queue.get(timeout=args.duration + 120)
        proc.join(timeout=10)
        client.close()
        server.should_exit = True
        time.sleep(0.3)
        store.close()
        engine.dispose()
    lat = result["latencies"]
    if not lat:
        raise SystemExit(f"no successful request ({result['errors']} errors)")
    rps = len(lat) / result["elapsed"]
    print(
        f"requests ok={len(lat)} errors={result['errors']} in {result['elapsed']:.1f} s; "
        f"mean={statistics.fmean(lat):.1f} ms max={max(lat):.1f} ms; live channels: {args.live} opened, "
        f"{result['live_events']} events read, {result['live_broken']} ended early"
    )
    print(
        f"api rps={rps:.0f} p50_ms={percentile(lat, 0.5):.1f} p99_ms={percentile(lat, 0.99):.1f} "
        f"page_kb={size:.1f} live_clients={held}"
    )


def live_clients_during(app: FastAPI, queue: mp.Queue, timeout: float) -> int:
    """The fewest live channels the server held open while the load ran (until the result is queued)."""
    feed = app.state.services.live
    fewest = feed.clients
    deadline = time.monotonic() + timeout
    while queue.empty() and time.monotonic() < deadline:
        fewest = min(fewest, feed.clients)
        time.sleep(0.25)
    return int(fewest)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


if __name__ == "__main__":
    main()
