"""The durable spool: order, durability across reopen, torn tails, bounds, and the wrapper's replay."""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

from store.base import Availability, Point, Sample, StoreRejected, StoreUnavailable
from store.spool.records import HEADER
from store.spool.segments import Spool, SpoolLocked
from store.spool.spooling import SpoolingStore


def batch(k: int, n: int = 3) -> list[Sample]:
    return [Sample("reachability", {"device": f"d{i}"}, {"up": 1, "seq": k}, 1000 + k) for i in range(n)]


def drain(spool: Spool, step: int = 4) -> list[Sample]:
    out: list[Sample] = []
    while (chunk := spool.peek(step)) is not None:
        out += chunk.samples
        spool.commit(chunk)
    return out


def test_fifo_across_segments_and_reopen(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_bytes=2**20, segment_bytes=300)  # a few records per segment
    for k in range(10):
        assert spool.append(batch(k))
    assert spool.depth == 30 and len(list(tmp_path.glob("*.seg"))) > 2
    first = spool.peek(7)
    assert first is not None and [s.fields["seq"] for s in first.samples] == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    spool.commit(first)
    spool.close()

    again = Spool(tmp_path, max_bytes=2**20, segment_bytes=300)
    assert again.depth == 21
    rest = drain(again)
    assert [s.fields["seq"] for s in rest] == [k for k in range(3, 10) for _ in range(3)]
    assert rest[0] == batch(3)[0]  # the very same sample: measurement, tags, fields, ts
    assert again.depth == 0 and again.size == 0
    assert len(list(tmp_path.glob("*.seg"))) == 1  # drained: only a fresh empty segment is left
    again.append(batch(99))
    again.close()
    assert [s.fields["seq"] for s in drain(Spool(tmp_path, 2**20))] == [99, 99, 99]


def test_a_peeked_but_uncommitted_chunk_is_read_again_after_a_crash(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_bytes=2**20)
    spool.append(batch(1))
    spool.append(batch(2))
    assert spool.peek(100) is not None  # handed to the backend … and the process dies
    spool.close()
    assert [s.fields["seq"] for s in drain(Spool(tmp_path, 2**20))] == [1, 1, 1, 2, 2, 2]


def test_a_torn_last_record_is_cut_off(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    spool = Spool(tmp_path, max_bytes=2**20)
    spool.append(batch(1))
    spool.append(batch(2))
    spool.close()
    [segment] = tmp_path.glob("*.seg")
    data = segment.read_bytes()
    segment.write_bytes(data[:-5])  # killed in the middle of writing the second record
    with caplog.at_level(logging.WARNING):
        again = Spool(tmp_path, max_bytes=2**20)
    assert "torn last record" in caplog.text
    assert again.depth == 3
    again.append(batch(3))  # appends continue right after the last whole record
    assert [s.fields["seq"] for s in drain(again)] == [1, 1, 1, 3, 3, 3]


def test_garbage_header_is_treated_as_torn(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_bytes=2**20)
    spool.append(batch(1))
    spool.close()
    [segment] = tmp_path.glob("*.seg")
    with open(segment, "ab") as f:
        f.write(b"\0" * (HEADER.size + 3))
    assert Spool(tmp_path, max_bytes=2**20).depth == 3


def test_full_spool_refuses_and_one_process_per_directory(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_bytes=400)
    assert spool.append(batch(1))
    assert not spool.append(batch(2, n=20))
    assert spool.depth == 3
    with pytest.raises(SpoolLocked):
        Spool(tmp_path, max_bytes=400)
    spool.close()
    Spool(tmp_path, max_bytes=400).close()


class FakeBackend:
    """A store that can be down or refuse data; records what it took, in order."""

    def __init__(self) -> None:
        self.taken: list[Sample] = []
        self.down = False
        self.reject_seq: int | None = None
        self.calls = 0
        self.closed = False
        self.lock = threading.Lock()

    def write(self, samples: Sequence[Sample]) -> None:
        with self.lock:
            self.calls += 1
            if self.down:
                raise StoreUnavailable("fake store down")
            bad = [s for s in samples if s.fields.get("seq") == self.reject_seq]
            self.taken += [s for s in samples if s not in bad]
            if bad:
                raise StoreRejected("type conflict", bad)

    def latest(self, measurement: str, where: Mapping[str, str] | None = None) -> list[Point]:
        return [Point(1, {"m": measurement}, {})]

    def range(self, *args: object) -> list[Point]:
        return []

    def aggregate(self, *args: object) -> list[Point]:
        return []

    def availability(self, *args: object) -> dict[str, Availability]:
        return {"d0": Availability("d0", 1, 1)}

    def close(self) -> None:
        self.closed = True


def wrapper(tmp_path: Path, backend: FakeBackend, max_bytes: int = 2**20) -> SpoolingStore:
    spool = Spool(tmp_path / "spool", max_bytes)
    return SpoolingStore(backend, spool, retry_initial_s=0.02, retry_max_s=0.05)


def test_outage_spools_then_replays_in_order_exactly_once(tmp_path: Path) -> None:
    backend = FakeBackend()
    store = wrapper(tmp_path, backend)
    try:
        store.write(batch(0))
        backend.down = True
        for k in range(1, 6):
            store.write(batch(k))
        assert store.spool_depth() == 15
        state = store.state()
        assert not state.backend_ok and state.last_error == "fake store down"
        backend.down = False
        store.write(batch(6))  # still behind the spool, never ahead of it
        assert store.wait_drained(5)
        assert [s.fields["seq"] for s in backend.taken] == [k for k in range(7) for _ in range(3)]
        store.write(batch(7))  # healthy again: straight through
        assert backend.taken[-1].fields["seq"] == 7 and store.spool_depth() == 0
    finally:
        store.close()
    assert backend.closed


def test_spool_left_by_a_previous_run_is_replayed_at_start(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool", 2**20)
    spool.append(batch(1))
    spool.close()
    backend = FakeBackend()
    store = wrapper(tmp_path, backend)
    try:
        assert store.wait_drained(5)
        assert [s.fields["seq"] for s in backend.taken] == [1, 1, 1]
    finally:
        store.close()


def test_full_spool_drops_counts_and_says_so_once(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    backend = FakeBackend()
    backend.down = True
    store = wrapper(tmp_path, backend, max_bytes=600)
    try:
        with caplog.at_level(logging.ERROR):
            for k in range(10):
                store.write(batch(k))
        state = store.state()
        assert state.full and state.dropped > 0 and state.depth + state.dropped == 30
        assert caplog.text.count("metric spool FULL") == 1
        backend.down = False
        assert store.wait_drained(5)
        assert len(backend.taken) == state.depth
    finally:
        store.close()


def test_refused_data_is_set_aside_and_the_queue_moves_on(tmp_path: Path) -> None:
    backend = FakeBackend()
    backend.reject_seq = 2
    store = wrapper(tmp_path, backend)
    try:
        store.write(batch(1))
        store.write(batch(2))  # refused directly
        backend.down = True
        store.write(batch(3))
        backend.down = False
        backend.reject_seq = 3  # refused during replay
        store.write(batch(4))
        assert store.wait_drained(5)
        assert [s.fields["seq"] for s in backend.taken] == [1, 1, 1, 4, 4, 4]
        assert store.state().rejected == 6
        kept = (tmp_path / "spool" / "rejected.jsonl").read_text().splitlines()
        assert len(kept) == 2 and "type conflict" in kept[0]
    finally:
        store.close()


def test_while_down_writes_do_not_hammer_the_backend(tmp_path: Path) -> None:
    backend = FakeBackend()
    backend.down = True
    store = SpoolingStore(backend, Spool(tmp_path / "spool", 2**20), retry_initial_s=10, retry_max_s=10)
    try:
        for k in range(20):
            store.write(batch(k))
        assert backend.calls <= 3  # the first write, at most a replay attempt or two; then backoff
        backend.down = False
        assert not store.wait_drained(0.3)  # the next retry is 10 s away …
        store.retry_now()  # … unless asked
        assert store.wait_drained(5) and len(backend.taken) == 60
    finally:
        store.close()


def test_reads_go_to_the_backend(tmp_path: Path) -> None:
    backend = FakeBackend()
    store = wrapper(tmp_path, backend)
    try:
        assert store.latest("ups")[0].tags == {"m": "ups"}
        assert store.availability(0, 1) == {"d0": Availability("d0", 1, 1)}
        assert store.range("m", "f", 0, 1) == [] and store.aggregate("m", "f", 0, 1, 1) == []
    finally:
        store.close()
