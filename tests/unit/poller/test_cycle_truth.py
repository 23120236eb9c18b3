"""The poll cycle's part in alert truth: confirmation, parents checked, results handed on at once.

The collector here is scripted (which device answers on which attempt), so the
cycle's logic is tested alone; the real-UDP path is in the functional tests.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from collectors.base import PollResult
from inventory.inventory import Inventory
from inventory.loader import load_inventory
from inventory.model import Device
from lab.generator import generate_lab
from poller.confirm import Confirmation, parse_by_role
from poller.cycle import PollCycle
from store.base import Sample


@pytest.fixture(scope="module")
def inv(tmp_path_factory: pytest.TempPathFactory) -> Inventory:
    return load_inventory(generate_lab(tmp_path_factory.mktemp("cycle"), "31", port=16199, limit=3).inventory)


class Scripted:
    """Answers unless the device is silent, or still has lost answers to drop; records each poll."""

    name = "scripted"

    def __init__(self, silent: set[str] = frozenset(), lose: dict[str, int] | None = None,  # type: ignore[assignment]
                 slow: dict[str, float] | None = None, silent_until: dict[str, float] | None = None) -> None:
        self.silent, self.lose, self.slow = set(silent), dict(lose or {}), dict(slow or {})
        self.silent_until = dict(silent_until or {})  # device → monotonic instant it answers again
        self.polls: list[tuple[str, float]] = []

    async def poll(self, device: Device, tags: dict[str, str]) -> PollResult:
        sent = time.monotonic()
        self.polls.append((device.id, sent))
        await asyncio.sleep(self.slow.get(device.id, 0.0))
        if (device.id in self.silent or self.lose.get(device.id, 0) > 0
                or sent < self.silent_until.get(device.id, 0.0)):
            self.lose[device.id] = self.lose.get(device.id, 0) - 1
            return PollResult(device.id, False, int(time.time()), error="no answer", error_kind="timeout")
        return PollResult(device.id, True, int(time.time()))

    async def close(self) -> None:
        return None


class NullStore:
    def write(self, samples: list[Sample]) -> None:
        return None


def cycle(inv: Inventory, collector: Scripted, sink: list[tuple[float, dict[str, PollResult]]],
          rechecks: int = 1) -> PollCycle:
    def take(results: dict[str, PollResult]) -> None:
        sink.append((time.monotonic(), dict(results)))

    return PollCycle(inv, collector, NullStore(), take, interval_s=30, name="t",  # type: ignore[arg-type]
                     confirmation=Confirmation(rechecks, 0.05))


def run_all(c: PollCycle) -> None:
    """One cycle, then its background confirmations (the cycle itself ends after the first polls)."""
    async def go() -> None:
        await c.run()
        await c.drain()

    asyncio.run(go())


def final(sink: list[tuple[float, dict[str, PollResult]]], device: str) -> PollResult:
    return [batch[device] for _, batch in sink if device in batch][-1]


def test_one_lost_answer_is_rechecked_and_never_decides(inv: Inventory) -> None:
    bts = next(d for d in inv.devices if d.endswith("-bts1"))
    collector, sink = Scripted(lose={bts: 1}), []  # type: ignore[var-annotated]
    run_all(cycle(inv, collector, sink))
    assert [d for d, _ in collector.polls].count(bts) == 2
    assert final(sink, bts).ok
    assert all(batch[bts].ok for _, batch in sink if bts in batch)


def test_confirmed_silence_checks_the_parents_first(inv: Inventory) -> None:
    bts = next(d for d in inv.devices.values() if d.id.endswith("-bts1"))
    collector, sink = Scripted(silent={bts.id}), []  # type: ignore[var-annotated]
    run_all(cycle(inv, collector, sink, rechecks=2))
    polled = [d for d, _ in collector.polls]
    assert polled.count(bts.id) == 3  # the poll and two re-checks
    assert polled.count(bts.parents[0]) == 2  # its own slot and the check for the child
    batch = next(b for _, b in sink if bts.id in b)
    assert not batch[bts.id].ok and batch[bts.parents[0]].ok  # delivered together


def test_results_reach_the_sink_before_the_slow_ones_finish(inv: Inventory) -> None:
    slow = next(d for d in inv.devices if d.endswith("-sw1"))
    collector, sink = Scripted(slow={slow: 1.5}), []  # type: ignore[var-annotated]
    started = time.monotonic()
    run_all(cycle(inv, collector, sink))
    first = sink[0][0] - started
    assert first < 1.0 and slow not in sink[0][1]
    assert final(sink, slow).ok


def test_each_result_carries_its_poll_start(inv: Inventory) -> None:
    collector, sink = Scripted(slow={d: 0.2 for d in inv.devices}), []  # type: ignore[var-annotated]
    before = time.time()
    run_all(cycle(inv, collector, sink))
    for _, batch in sink:
        for result in batch.values():
            assert before <= result.observed <= before + 1.0
            assert result.observed_at == result.observed


def test_per_role_rechecks_parse_and_fail_clearly() -> None:
    assert parse_by_role("bts=3, power=2") == {"bts": 3, "power": 2}
    assert Confirmation(1, 0.5, {"bts": 3}).rechecks_for("bts") == 3
    with pytest.raises(ValueError, match="'bts'"):
        parse_by_role("bts")


def test_settings_reject_a_bad_role_count(tmp_path: Path) -> None:
    from common.errors import ConfigError
    from trucban.settings import load_settings

    with pytest.raises(ConfigError, match="TRUCBAN_CONFIRM_RECHECKS_BY_ROLE"):
        load_settings(env={"TRUCBAN_CONFIRM_RECHECKS_BY_ROLE": "bts=three"})


def test_only_the_reachability_plan_declares_snmp_devices_down(inv: Inventory) -> None:
    from poller.scheduler import snmp_plans

    plans = {p.name: p for p in snmp_plans({})}
    assert [n for n, p in plans.items() if p.decides_down] == ["snmp-reachability"]
    bts = next(d for d in inv.devices if d.endswith("-bts1"))
    collector, sink = Scripted(silent={bts}), []  # type: ignore[var-annotated]
    health = PollCycle(inv, collector, NullStore(), lambda r: sink.append((0.0, dict(r))),  # type: ignore[arg-type]
                       interval_s=60, name="snmp-health", decides_down=False)
    run_all(health)
    assert [d for d, _ in collector.polls].count(bts) == 1  # no confirmation: it cannot decide
    assert all(bts not in batch for _, batch in sink)
    assert not health.downtime.is_down(bts)


def test_child_joins_its_parents_confirmation_and_is_never_paged(inv: Inventory, tmp_path: Path) -> None:
    """The bench's 'child paged' case: the parent failed first, so the child must wait for its verdict."""
    from alerting.core import AlertingCore
    from alerting.db import open_database
    from alerting.states import Status
    from store.sqlite import SqliteMetricStore

    bts = next(d for d in inv.devices.values() if d.id.endswith("-bts1"))
    router = inv.devices[bts.parents[0]]
    cut = {router.id} | {c.id for c in inv.devices.values() if router.id in c.parents}
    store = SqliteMetricStore(tmp_path / "m.sqlite")
    opened: list[str] = []
    core = AlertingCore(inv, store, open_database(f"sqlite:///{tmp_path / 'a.sqlite'}"), subscribers=[
        lambda cs: opened.extend(c.incident.key for c in cs if c.kind.value == "opened")])
    # the router fails first; its own parent answers slowly, so its confirmation outlasts the child's
    collector = Scripted(silent=cut, slow={bts.id: 0.05, **{p: 0.3 for p in router.parents}})
    c = PollCycle(inv, collector, store, core, interval_s=30, name="snmp-reachability",
                  confirmation=Confirmation(1, 0.05))
    run_all(c)
    assert core.tracker.states[router.id].status is Status.DOWN
    assert core.tracker.states[bts.id].status is Status.UNREACHABLE
    assert f"device_down:{bts.id}" not in opened and f"device_down:{router.id}" in opened
    store.close()


def test_a_child_silenced_by_its_parents_short_outage_is_polled_again(inv: Inventory, tmp_path: Path) -> None:
    """The bench's other 'child paged' case: the parent came back between the child's re-check and its own.

    The child's failures then prove nothing; one more poll after the parent
    answered decides (here: the child answers, so no incident).
    """
    from alerting.core import AlertingCore
    from alerting.db import open_database
    from alerting.states import Status
    from store.sqlite import SqliteMetricStore

    bts = next(d for d in inv.devices.values() if d.id.endswith("-bts1"))
    router = inv.devices[bts.parents[0]]
    store = SqliteMetricStore(tmp_path / "m.sqlite")
    opened: list[str] = []
    core = AlertingCore(inv, store, open_database(f"sqlite:///{tmp_path / 'a.sqlite'}"), subscribers=[
        lambda cs: opened.extend(c.incident.key for c in cs if c.kind.value == "opened")])
    back = time.monotonic() + 0.12  # the router's outage ends after the child's re-check, before its own
    cut = {router.id} | {c.id for c in inv.devices.values() if router.id in c.parents}
    collector = Scripted(slow={router.id: 0.1}, silent_until={d: back for d in cut})
    c = PollCycle(inv, collector, store, core, interval_s=30, name="snmp-reachability",
                  confirmation=Confirmation(1, 0.05))
    run_all(c)
    assert [d for d, _ in collector.polls].count(bts.id) == 3  # poll, re-check, poll after the parent
    assert core.tracker.states[bts.id].status is Status.UP
    assert core.tracker.states[router.id].status is Status.UP
    assert not opened
    store.close()


def test_a_cycle_ends_after_its_first_polls(inv: Inventory) -> None:
    bts = next(d for d in inv.devices if d.endswith("-bts1"))
    collector, sink = Scripted(silent={bts}), []  # type: ignore[var-annotated]
    c = PollCycle(inv, collector, NullStore(), lambda r: sink.append((0.0, dict(r))),  # type: ignore[arg-type]
                  interval_s=30, name="t", confirmation=Confirmation(3, 0.5))

    async def go() -> tuple[float, float]:
        t0 = time.monotonic()
        await c.run()
        ended = time.monotonic() - t0
        await c.drain()
        return ended, time.monotonic() - t0

    ended, confirmed = asyncio.run(go())
    assert ended < 0.5 <= confirmed  # 3 re-checks 0.5 s apart went on after the cycle
    assert [d for d, _ in collector.polls].count(bts) == 4
    assert c.last is not None and c.last.errors == {"timeout": 1}


def test_a_repaired_parent_has_the_devices_behind_it_polled_at_once(inv: Inventory) -> None:
    """Issue 17: after a long outage the children sat on the 5-minute backoff and stayed red for minutes."""
    bts = next(d for d in inv.devices.values() if d.id.endswith("-bts1"))
    router = bts.parents[0]
    collector, sink = Scripted(), []  # type: ignore[var-annotated]
    c = cycle(inv, collector, sink)
    now = time.monotonic()
    for dev, last_try in ((router, now - 1000), (bts.id, now)):  # down for an hour; the BTS was just tried
        c.downtime.down_since[dev] = now - 3600
        c.downtime.last_try[dev] = last_try
    assert not c.downtime.due(bts.id, now, c.interval_s)

    async def go() -> None:
        await c.run([inv.devices[router], bts])
        await c.drain()

    asyncio.run(go())
    assert [d for d, _ in collector.polls] == [router, bts.id]  # the BTS polled because its router came back
    assert final(sink, bts.id).ok
    assert not c.downtime.is_down(bts.id) and not c.downtime.is_down(router)


def test_a_collector_that_raises_fails_its_device_not_the_cycle(inv: Inventory) -> None:
    """One result per device, whatever the collector does: a bug is that device's 'internal' failure."""
    bts = next(d for d in inv.devices if d.endswith("-bts1"))

    class Buggy(Scripted):
        async def poll(self, device: Device, tags: dict[str, str]) -> PollResult:
            if device.id == bts:
                raise EOFError("EOF")
            return await super().poll(device, tags)

    sink: list[tuple[float, dict[str, PollResult]]] = []
    c = PollCycle(inv, Buggy(), NullStore(), lambda r: sink.append((0.0, dict(r))),  # type: ignore[arg-type]
                  interval_s=30, name="t", decides_down=False)
    asyncio.run(c.run())
    assert c.last is not None and c.last.devices == len(c.devices())
    assert c.last.errors == {"internal": 1}
