"""Proof by counts for a scale-out run: every scheduled poll happened once, every sample was stored.

Reads the hub's results stream back (what the pollers and edge posts
delivered, after JetStream's de-duplication), compares it with the schedule
(every device of every plan in every slot of a window) and with what the
metric store holds, and counts incidents per key in the alerting database.
Used by the functional tests and ``bench.scale``.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import nats
from nats.errors import TimeoutError as NatsTimeout
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from sqlalchemy import Engine, text

from inventory.model import Device
from poller.cluster.messages import PollBatch, decode
from poller.cluster.slots import planned_time
from poller.scheduler import PollPlan
from store.base import MetricStore, storable


async def read_stream(url: str, stream: str, *, batch: int = 1000) -> list[PollBatch]:
    """Every batch in ``stream``, oldest first (an ephemeral consumer; the stream is not changed)."""
    nc = await nats.connect(url)
    out: list[PollBatch] = []
    try:
        js = nc.jetstream()
        pending = (await js.stream_info(stream)).state.messages
        sub = await js.pull_subscribe("", stream=stream, config=ConsumerConfig(
            ack_policy=AckPolicy.NONE, deliver_policy=DeliverPolicy.ALL, inactive_threshold=30))
        while len(out) < pending:
            try:
                msgs = await sub.fetch(batch, timeout=2)
            except (NatsTimeout, TimeoutError):
                break
            out += [decode(m.data) for m in msgs]
        await sub.unsubscribe()
    finally:
        await nc.close()
    return out


@dataclass
class PollAudit:
    """Scheduled polls against delivered ones, in a window of slots."""

    expected: int = 0
    on_time: int = 0
    late: int = 0  # delivered, but an interval or more after it was due
    missed: int = 0  # never delivered
    duplicates: int = 0  # the same device, plan and slot delivered twice
    missed_examples: list[str] = field(default_factory=list)

    @property
    def missed_polls(self) -> int:
        """What the benchmark reports: missing or more than one interval late."""
        return self.missed + self.late


def audit_polls(batches: Iterable[PollBatch], plans: Sequence[PollPlan], devices: Sequence[Device],
                window: tuple[float, float], jitter: float) -> PollAudit:
    """Check every poll due in ``window`` (epoch s): due time in it and one interval to deliver."""
    seen: Counter[tuple[str, str, int]] = Counter()
    lateness: dict[tuple[str, str, int], float] = {}
    for b in batches:
        for item in b.items:
            if item.recheck:
                continue  # confirmation polls are extra, not the slot's poll
            key = (item.result.device, b.plan, b.slot)
            seen[key] += 1
            lateness[key] = min(lateness.get(key, 1e18), item.result.ts - item.planned)
    report = PollAudit(duplicates=sum(n - 1 for n in seen.values() if n > 1))
    start, end = window
    for plan in plans:
        interval = plan.interval_s
        first, last = int(start // interval), int(end // interval)
        for device in devices:
            if not plan.selector(device):
                continue
            for slot in range(first, last + 1):
                due = planned_time(slot, interval, jitter, device.id)
                if not start <= due <= end - interval:
                    continue
                report.expected += 1
                key = (device.id, plan.name, slot)
                if key not in seen:
                    report.missed += 1
                    if len(report.missed_examples) < 10:
                        report.missed_examples.append(f"{device.id} {plan.name} slot {slot}")
                elif lateness[key] >= interval:
                    report.late += 1
                else:
                    report.on_time += 1
    return report


def sample_identities(batches: Iterable[PollBatch]) -> set[tuple[str, tuple[tuple[str, str], ...], int]]:
    """(measurement, tags, ts) of every sample delivered: what the store must hold."""
    return {(s.measurement, tuple(sorted(s.tags.items())), s.ts) for b in batches for s in b.samples()}


def lost_samples(batches: Sequence[PollBatch], store: MetricStore) -> int:
    """Samples delivered but absent from the store (read back through the MetricStore interface).

    Each sample is looked for by the first of its own fields a store keeps
    (:func:`store.base.storable`): samples of one measurement do not all carry
    the same fields (an ICMP probe with every packet lost has ``loss`` but no
    ``jitter_ms``), so one field per measurement would count those as lost.
    A sample with no storable field is nowhere to be read and not counted.
    """
    by_field: dict[tuple[str, str], set[tuple[tuple[tuple[str, str], ...], int]]] = {}
    placed: set[tuple[str, tuple[tuple[str, str], ...], int]] = set()
    for b in batches:
        for s in b.samples():
            identity = (s.measurement, tuple(sorted(s.tags.items())), s.ts)
            name = next((f for f in sorted(s.fields) if storable(s.fields[f])), None)
            if name is None or identity in placed:
                continue
            placed.add(identity)
            by_field.setdefault((s.measurement, name), set()).add(identity[1:])
    if not placed:
        return 0
    start = min(ts for _m, _t, ts in placed)
    end = max(ts for _m, _t, ts in placed)
    lost = 0
    for (measurement, name), wanted in by_field.items():
        stored = {(tuple(sorted(point.tags.items())), point.ts)
                  for point in store.range(measurement, name, start, end)}
        lost += len(wanted - stored)
    return lost


@dataclass
class IncidentAudit:
    """Incidents opened since a time: per key, and per (key, start of the problem).

    A *duplicate* is the same problem opened twice: same key and same start
    (a replayed or doubly ingested result would re-create exactly that). A key
    opened again later with a new start is a real second occurrence (the device
    recovered in between), counted in ``reopened`` but not as a duplicate.
    """

    by_key: dict[str, int]
    expected: set[str]
    by_problem: dict[tuple[str, int], int] = field(default_factory=dict)

    @property
    def duplicates(self) -> int:
        """Incidents beyond the first for the same problem (key and start)."""
        return sum(n - 1 for n in self.by_problem.values() if n > 1)

    @property
    def reopened(self) -> int:
        """Keys opened more than once with different starts (real recurrences)."""
        return sum(n - 1 for n in self.by_key.values() if n > 1) - self.duplicates

    @property
    def missed(self) -> set[str]:
        """Expected keys with no incident."""
        return self.expected - set(self.by_key)


def audit_incidents(engine: Engine, since: int, expected: Iterable[str] = ()) -> IncidentAudit:
    """Count incidents opened at or after ``since``, per key and per problem."""
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT key, opened_at, count(*) FROM incidents WHERE opened_at >= :t "
                                 "GROUP BY key, opened_at"), {"t": since}).all()
    by_key: dict[str, int] = {}
    by_problem: dict[tuple[str, int], int] = {}
    for key, opened_at, n in rows:
        by_key[str(key)] = by_key.get(str(key), 0) + int(n)
        by_problem[(str(key), int(opened_at))] = int(n)
    return IncidentAudit(by_key, set(expected), by_problem)


def run(coro):  # type: ignore[no-untyped-def]
    """Run a coroutine from synchronous test/bench code."""
    return asyncio.run(coro)
