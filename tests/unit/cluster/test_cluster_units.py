"""Unit tests for the scale-out pieces that need no server: partitions, messages, slots, audit."""

from __future__ import annotations

from pathlib import Path

import pytest

from collectors.base import PollResult
from inventory.inventory import Inventory
from lab.national import national_inventory
from poller.cluster.audit import audit_polls, lost_samples, sample_identities
from poller.cluster.config import ClusterConfig, edge_domain, edge_stream, edge_subject
from poller.cluster.messages import PollBatch, PolledDevice, decode, encode
from poller.cluster.partitions import Partitioner, merge_inventories, partition_index
from poller.cluster.slots import planned_time, slot_of
from poller.scheduler import PollPlan
from store.base import Sample
from store.sqlite import SqliteMetricStore


@pytest.fixture(scope="module")
def hai_phong() -> Inventory:
    return national_inventory("31")


def test_partitions_keep_a_commune_together_and_cover_every_device(hai_phong: Inventory) -> None:
    parts = Partitioner(hai_phong, 16)
    seen = [d.id for name in parts.names() for d in parts.devices(name)]
    assert sorted(seen) == sorted(hai_phong.devices)
    for name in parts.names():
        communes = {hai_phong.sites[d.site].commune for d in parts.devices(name)}
        for commune in communes:
            assert partition_index(commune, 16) == int(name[1:])
    assert max(parts.sizes().values()) < 3 * (len(hai_phong.devices) / 16)


def test_excluded_communes_are_left_to_the_edge(hai_phong: Inventory) -> None:
    commune = hai_phong.watched_communes[5]
    parts = Partitioner(hai_phong, 8, exclude_communes=[commune])
    left = {hai_phong.sites[d.site].commune for n in parts.names() for d in parts.devices(n)}
    assert commune not in left


def test_merge_refuses_clashing_ids(hai_phong: Inventory) -> None:
    with pytest.raises(ValueError, match="inventories share"):
        merge_inventories([hai_phong, hai_phong])
    both = merge_inventories([hai_phong, national_inventory("01")])
    assert len(both.devices) == len(hai_phong.devices) + len(national_inventory("01").devices)


def test_batch_round_trip_and_message_id() -> None:
    sample = Sample("reachability", {"device": "d1", "commune": "11311"}, {"up": 1, "latency_ms": 2.5}, 100)
    result = PollResult("d1", True, 100, [sample], duration_ms=2.5)
    batch = PollBatch("p0003", "snmp-reachability", 42, 30.0, 0, "poller1",
                      [PolledDevice(result, 99.5, True)])
    again = decode(encode(batch))
    assert again.msg_id == "p0003:snmp-reachability:42:0"
    assert again.samples() == [sample]
    assert again.decided()["d1"].ok


@pytest.mark.parametrize("bad", [b"{}", b"not json", b'{"v": 1, "partition": "p"}'])
def test_malformed_batches_are_refused_clearly(bad: bytes) -> None:
    with pytest.raises(ValueError, match="batch"):
        decode(bad)


def test_slots_are_aligned_and_planned_times_stay_in_the_slot() -> None:
    assert slot_of(59.9, 30) == 1 and slot_of(60.0, 30) == 2
    for dev in ("a", "b", "c-r1"):
        t = planned_time(10, 60.0, 0.5, dev)
        assert 600 <= t < 630
    assert planned_time(10, 4.0, 0.5, "a") == 40.0  # short intervals: no spread


def test_config_refuses_nonsense_and_names_edges() -> None:
    with pytest.raises(ValueError):
        ClusterConfig(partitions=0)
    with pytest.raises(ValueError):
        edge_stream("bad name")
    assert (edge_stream("hb-1"), edge_subject("hb-1"), edge_domain("hb-1")) == (
        "TRUCBAN_EDGE_HB-1", "trucban.edge.hb-1.results", "edge-hb-1")


def test_audit_counts_missed_late_and_duplicate_polls(hai_phong: Inventory) -> None:
    devices = sorted(hai_phong.devices.values(), key=lambda d: d.id)[:3]
    plan = PollPlan("reach", "snmp", 10.0)
    batches = []
    for slot in (10, 11, 12):
        items = []
        for d in devices:
            due = planned_time(slot, 10.0, 0.0, d.id)
            late = 15 if (slot, d.id) == (11, devices[1].id) else 1
            if (slot, d.id) != (12, devices[2].id):
                items.append(PolledDevice(PollResult(d.id, True, int(due + late)), due))
        batches.append(PollBatch("p", "reach", slot, 10.0, 0, "x", items))
    batches.append(PollBatch("p", "reach", 10, 10.0, 1, "x", [batches[0].items[0]]))
    report = audit_polls(batches, [plan], devices, (100.0, 139.0), 0.0)
    assert report.expected == 9
    assert (report.missed, report.late, report.duplicates) == (1, 1, 1)
    assert report.missed_polls == 2
    assert sample_identities(batches) == set()


def test_lost_samples_reads_each_sample_by_a_field_it_carries(tmp_path: Path) -> None:
    """An ICMP sample with every packet lost has no ``jitter_ms``: stored, not lost; a dropped one is."""
    tags = {"device": "d1"}
    answered = Sample("icmp", tags, {"jitter_ms": 1.5, "loss": 0.0}, 100)
    unanswered = Sample("icmp", tags, {"loss": 1.0, "sent": 3}, 110)
    only_nan = Sample("icmp", tags, {"jitter_ms": float("nan")}, 115)
    dropped = Sample("icmp", {"device": "d2"}, {"loss": 1.0}, 120)
    items = [PolledDevice(PollResult("d1", True, 100, [answered, unanswered, only_nan]), 100.0),
             PolledDevice(PollResult("d2", False, 120, [dropped]), 120.0)]
    batches = [PollBatch("p", "icmp", 10, 10.0, 0, "x", items)]
    store = SqliteMetricStore(tmp_path / "m.sqlite")
    try:
        store.write([answered, unanswered, only_nan])
        assert lost_samples(batches, store) == 1
        store.write([dropped])
        assert lost_samples(batches, store) == 0
    finally:
        store.close()
