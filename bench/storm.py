"""Storm benchmark: a simulated typhoon over the lab network, alerts delivered to a real SMTP server.

The lab inventory (114 Hải Phòng communes by default) is driven through the
real alerting core with synthetic poll results on a simulated clock (30 s
polls), so ten storm minutes and the recovery run in seconds: 40 % of BTS lose
mains and drain their batteries, 25 % of communes lose the primary link, 10 %
are isolated, two aggregation routers fail and recover, some links flap. The
notifier and outbox worker (every 5 simulated seconds) deliver through apprise
to an aiosmtpd server on 127.0.0.1, which stamps each accepted mail with the
simulated time. Printed last:

    storm communes=N messages=M max_per_post_first_10min=K lost=L unresolved=U

K: most mails one command post received in the first ten storm minutes; L:
incidents that should page (routed, lasting longer than the grouping wait)
whose DOWN never reached their post; U: DOWNs never followed by a RECOVERED.
Also printed: median delay device failure → SMTP accept, with and without the
grouping wait.

Run: ``.venv/bin/python -m bench.storm [--communes 114] [--minutes 10] [--seed 7]``.
"""

from __future__ import annotations

import argparse
import logging
import random
import statistics
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from pathlib import Path
from zoneinfo import ZoneInfo

from aiosmtpd.controller import Controller

from alerting.core import AlertingCore
from alerting.db import open_database
from alerting.incidents import IncidentKind
from alerting.notify.channel_urls import smtp_channel
from alerting.notify.config import NotifyConfig
from alerting.notify.facade import NotifyService
from alerting.repository import IncidentRepository
from collectors.base import PollResult
from inventory.inventory import Inventory
from inventory.loader import load_inventory
from lab.generator import generate_lab
from lab.outages import behind
from store.base import Sample
from store.sqlite import SqliteMetricStore

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
T0 = 1_789_963_200  # 2026-09-21 10:00 local: daytime, so warnings page communes too
POLL_S = 30
WORKER_S = 5


class Clock:
    """The simulated clock every part reads."""

    t: float = T0

    def __call__(self) -> float:
        return self.t


@dataclass
class Mail:
    """One mail as accepted by the SMTP server."""

    at: float
    rcpt: str
    down: list[int]
    recovered: list[int]


@dataclass
class Sink:
    """aiosmtpd handler stamping each accepted mail with the simulated time."""

    clock: Clock
    mails: list[Mail] = field(default_factory=list)

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:  # noqa: N802
        msg = message_from_bytes(envelope.original_content, policy=policy.default)  # type: ignore[attr-defined]
        ids = [
            [int(x) for x in str(msg.get(h, "")).split()] for h in ("X-Trucban-Down", "X-Trucban-Recovered")
        ]
        for rcpt in envelope.rcpt_tos:  # type: ignore[attr-defined]
            self.mails.append(Mail(self.clock.t, rcpt, ids[0], ids[1]))
        return "250 OK"


@dataclass
class Scenario:
    """When each thing fails and comes back (simulated seconds after T0)."""

    mains: dict[str, tuple[int, int, float]] = field(default_factory=dict)  # pwr → (lost, back, %/min)
    primary: dict[str, tuple[int, int]] = field(default_factory=dict)  # router → (down, up)
    isolated: dict[str, tuple[int, int]] = field(default_factory=dict)
    aggs: dict[str, tuple[int, int]] = field(default_factory=dict)
    flapping: dict[str, tuple[int, int, int]] = field(default_factory=dict)  # router → (start, end, period)


def scenario(inv: Inventory, minutes: int, rng: random.Random) -> Scenario:
    """The storm: 40 % mains, 25 % primary link, 10 % isolated, two aggregation routers, flaps."""
    storm = minutes * 60
    communes = list(inv.watched_communes)
    sc = Scenario()
    for code in rng.sample(communes, round(0.4 * len(communes))):
        lost = rng.randrange(0, storm)
        sc.mains[f"c{code}-pwr1"] = (lost, lost + rng.randrange(15 * 60, 40 * 60), rng.uniform(0.8, 2.5))
    rest = [c for c in communes]
    rng.shuffle(rest)
    n_iso, n_pri = round(0.1 * len(communes)), round(0.25 * len(communes))
    for code in rest[:n_iso]:
        down = rng.randrange(0, storm)
        sc.isolated[f"c{code}-r1"] = (down, down + rng.randrange(10 * 60, 30 * 60))
    for code in rest[n_iso : n_iso + n_pri]:
        down = rng.randrange(0, storm)
        sc.primary[f"c{code}-r1"] = (down, down + rng.randrange(10 * 60, 30 * 60))
    for code in rest[n_iso + n_pri : n_iso + n_pri + 4]:
        start = rng.randrange(0, storm // 2)
        sc.flapping[f"c{code}-r1"] = (start, start + rng.randrange(5 * 60, 10 * 60), rng.choice((40, 50, 70)))
    aggs = sorted(d for d in inv.devices if "-agg" in d)[:2]
    for agg in aggs:
        down = rng.randrange(60, storm - 120)
        sc.aggs[agg] = (down, down + rng.randrange(4 * 60, 8 * 60))
    return sc


def poll(inv: Inventory, sc: Scenario, t: int, store: SqliteMetricStore) -> dict[str, PollResult]:
    """One cycle's results at simulated second ``t`` (UPS samples go to the store)."""
    ts = T0 + t
    silent: set[str] = set()
    for agg, (down, up) in sc.aggs.items():
        if down <= t < up:
            silent |= set(behind(inv, agg))
    if_down: dict[str, set[int]] = defaultdict(set)
    for r1, (down, up) in sc.primary.items():
        if down <= t < up:
            if_down[r1].add(1)
    for r1, (down, up) in sc.isolated.items():
        if down <= t < up:
            if_down[r1] |= {1, 2}
    for r1, (start, end, period) in sc.flapping.items():
        if start <= t < end and ((t - start) // (period // 2)) % 2 == 1:
            if_down[r1].add(1)
    samples = []
    for pwr, (lost, back, rate) in sc.mains.items():
        if pwr in silent:
            continue
        on_battery = lost <= t < back
        charge = max(5.0, 100.0 - rate * (t - lost) / 60.0) if on_battery else 100.0
        samples.append(
            Sample(
                "ups",
                {"device": pwr},
                {
                    "output_source": 5 if on_battery else 3,
                    "seconds_on_battery": (t - lost) if on_battery else 0,
                    "charge_pct": round(charge, 1),
                    "minutes_remaining": round(charge / rate),
                },
                ts,
            )
        )
    store.write(samples)
    out = {}
    for dev in inv.devices:
        if dev in silent:
            out[dev] = PollResult(
                dev, False, ts, error=f"{dev}: no SNMP answer (timeout)", error_kind="timeout"
            )
            continue
        iface = []
        if dev.endswith("-r1"):
            iface = [
                Sample(
                    "snmp_if",
                    {"device": dev, "if_index": str(i)},
                    {"oper_status": 2 if i in if_down.get(dev, set()) else 1, "admin_status": 1},
                    ts,
                )
                for i in (1, 2, 3, 4)
            ]
        out[dev] = PollResult(dev, True, ts, samples=iface)
    return out


def failure_time(
    sc: Scenario, inv: Inventory, kind: str, device: str | None, commune: str | None
) -> int | None:
    """When the failure behind an incident became observable (simulated seconds), for the delay figure.

    A failure behind a failed aggregation router cannot be seen until the router
    is back (its children are unreachable, by design), so it counts from then.
    """
    failed = _failed_at(sc, kind, device, commune)
    if failed is None:
        return None
    for agg, (down, up) in sc.aggs.items():
        hidden = (device or "") in _behind_cache(inv, agg) or f"c{commune}-r1" in _behind_cache(inv, agg)
        if hidden and device != agg and down <= failed < up:
            failed = up
    return failed


_BEHIND: dict[str, set[str]] = {}


def _behind_cache(inv: Inventory, agg: str) -> set[str]:
    if agg not in _BEHIND:
        _BEHIND[agg] = set(behind(inv, agg))
    return _BEHIND[agg]


def _failed_at(sc: Scenario, kind: str, device: str | None, commune: str | None) -> int | None:
    if kind == IncidentKind.BTS_ON_BATTERY and device in sc.mains:
        return sc.mains[device][0]
    if kind in (IncidentKind.DEVICE_DOWN, IncidentKind.COMMUNES_CUT_OFF) and device in sc.aggs:
        return sc.aggs[device][0]
    r1 = f"c{commune}-r1"
    if kind == IncidentKind.COMMUNE_ISOLATED and r1 in sc.isolated:
        return sc.isolated[r1][0]
    if kind == IncidentKind.LINK_ON_BACKUP:
        return (sc.primary.get(r1) or sc.isolated.get(r1) or sc.flapping.get(r1) or (None,))[0]
    return None


def run(communes: int, minutes: int, seed: int) -> str:
    """Run the storm; return the summary line."""
    logging.disable(logging.WARNING)
    rng = random.Random(seed)
    work = Path(tempfile.mkdtemp(prefix="trucban-storm-"))
    inv = load_inventory(generate_lab(work / "lab", "31", port=16199, limit=communes).inventory)
    clock = Clock()
    sink = Sink(clock)
    port = _free_port()
    smtp = Controller(sink, hostname="127.0.0.1", port=port)
    smtp.start()
    try:
        engine = open_database(f"sqlite:///{work / 'alerting.sqlite'}")
        store = SqliteMetricStore(work / "metrics.sqlite")
        config = NotifyConfig.model_validate(
            {
                "channels": {"email": smtp_channel("127.0.0.1", port, "trucban@lab.invalid", starttls=False)},
                "posts": {
                    "noc": {
                        "name": "Trực ban NOC",
                        "contacts": [{"name": "NOC", "email": "noc@lab.invalid"}],
                    },
                    "coordinators": {
                        "name": "Điều phối",
                        "contacts": [{"name": "ĐP", "email": "dp@lab.invalid"}],
                    },
                },
            }
        )
        svc = NotifyService.build(
            engine, inv, config, incidents=IncidentRepository(engine), base_url="https://trucban.example.vn",
            timezone=TZ, clock=clock,
        )
        core = AlertingCore(inv, store, engine, subscribers=[svc.subscriber])
        sc = scenario(inv, minutes, rng)
        last_event = max(
            [b for _, b, _ in sc.mains.values()]
            + [u for _, u in sc.primary.values()]
            + [u for _, u in sc.isolated.values()]
            + [u for _, u in sc.aggs.values()]
            + [e for _, e, _ in sc.flapping.values()]
        )
        horizon = last_event + config.timers.group_interval_s * 2 + 4 * POLL_S
        started = time.perf_counter()
        for t in range(0, horizon + 1, WORKER_S):
            clock.t = T0 + t
            if t % POLL_S == 0:
                core(poll(inv, sc, t, store))
            svc.run_once(T0 + t)
        wall = time.perf_counter() - started
        return report(svc, inv, sc, sink, config, wall)
    finally:
        smtp.stop()


def report(
    svc: NotifyService, inv: Inventory, sc: Scenario, sink: Sink, config: NotifyConfig, wall: float
) -> str:
    """Count, check and print."""
    incidents, _ = IncidentRepository(svc.notifier.engine).list(limit=100000)
    per_post: dict[str, int] = defaultdict(int)
    down_at: dict[tuple[str, int], float] = {}
    recovered_at: dict[tuple[str, int], float] = {}
    for m in sink.mails:
        if m.at < T0 + 600:
            per_post[m.rcpt] += 1
        for i in m.down:
            down_at.setdefault((m.rcpt, i), m.at)
        for i in m.recovered:
            recovered_at.setdefault((m.rcpt, i), m.at)
    router = svc.notifier.router
    lost = 0
    delays, excl = [], []
    queued = _queued(svc)
    for inc in incidents:
        duration = (inc.resolved_at or 10**12) - inc.opened_at
        posts = router.posts_for(inc, inc.opened_at)
        for post in posts:
            addresses = [c.email for c in router.contacts(post) if c.email]
            got = [down_at[(a, inc.id)] for a in addresses if (a, inc.id) in down_at]
            if not got:
                lost += duration > config.timers.group_wait_s + POLL_S
                continue
            failed = failure_time(sc, inv, inc.kind, inc.device, inc.commune)
            if failed is not None:
                delay = min(got) - (T0 + failed)
                delays.append(delay)
                wait = queued.get((post, inc.id), 0)
                excl.append(delay - wait)
    unresolved = sum(1 for (a, i), _ in down_at.items() if (a, i) not in recovered_at)
    k = max(per_post.values(), default=0)
    med = statistics.median(delays) if delays else float("nan")
    med_x = statistics.median(excl) if excl else float("nan")
    print(
        f"incidents={len(incidents)} mails={len(sink.mails)} posts={len({m.rcpt for m in sink.mails})} "
        f"simulated_s={int(sink.mails[-1].at - T0) if sink.mails else 0} wall_s={wall:.1f}"
    )
    print(
        f"median_failure_to_smtp_accept_s={med:.0f} median_excluding_grouping_wait_s={med_x:.0f} "
        f"(poll interval {POLL_S} s, group_wait {config.timers.group_wait_s} s, "
        f"group_interval {config.timers.group_interval_s} s)"
    )
    return (
        f"storm communes={len(inv.watched_communes)} messages={len(sink.mails)} "
        f"max_per_post_first_10min={k} lost={lost} unresolved={unresolved}"
    )


def _queued(svc: NotifyService) -> dict[tuple[str, int], float]:
    """Seconds each incident waited in its post's group before the flush that carried it."""
    from sqlalchemy import select

    from alerting.notify.tables import notify_outbox

    out: dict[tuple[str, int], float] = {}
    with svc.notifier.engine.connect() as conn:
        for r in conn.execute(select(notify_outbox.c.post, notify_outbox.c.created_at, notify_outbox.c.meta)):
            for inc, q in (r.meta or {}).get("queued_at", {}).items():
                if int(inc) in (r.meta or {}).get("down", ()):
                    out.setdefault((r.post, int(inc)), r.created_at - q)
    return out


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def main() -> None:
    """Command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--communes", type=int, default=114)
    parser.add_argument("--minutes", type=int, default=10)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    print(run(args.communes, args.minutes, args.seed))


if __name__ == "__main__":
    main()
