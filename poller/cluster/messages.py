"""What a poller publishes: one partition's results for one plan and one slot (JSON).

A batch carries each device's :class:`~collectors.base.PollResult` with its
samples (the reachability sample included, as the single-node cycle writes
it), the planned poll time, and whether the result decides the device's
state. ``msg_id`` is what JetStream de-duplicates on: the same partition, plan,
slot and chunk published twice (a takeover, a retry) is stored once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from collectors.base import PollResult
from store.base import Sample

FORMAT = 1


@dataclass(slots=True)
class PolledDevice:
    """One device's outcome in a batch."""

    result: PollResult
    planned: float  # epoch seconds the poll was due
    feeds_state: bool = True
    recheck: bool = False  # a confirmation poll (a re-check, or a parent checked for a child)


@dataclass(slots=True)
class PollBatch:
    """One chunk of a partition's cycle for one plan and slot."""

    partition: str
    plan: str
    slot: int
    interval_s: float
    chunk: int
    poller: str
    items: list[PolledDevice] = field(default_factory=list)

    @property
    def msg_id(self) -> str:
        """JetStream de-duplication id: stable whoever polled it."""
        return f"{self.partition}:{self.plan}:{self.slot}:{self.chunk}"

    def samples(self) -> list[Sample]:
        """Every sample in the batch."""
        return [s for item in self.items for s in item.result.samples]

    def decided(self) -> dict[str, PollResult]:
        """Results that decide device states, by device."""
        out: dict[str, PollResult] = {}
        for i in sorted(self.items, key=lambda i: i.result.observed_at):
            if i.feeds_state:
                out[i.result.device] = i.result  # the newest observation of each device
        return out


def encode(batch: PollBatch) -> bytes:
    """Serialise a batch (compact JSON, UTF-8)."""
    doc = {
        "v": FORMAT, "partition": batch.partition, "plan": batch.plan, "slot": batch.slot,
        "interval_s": batch.interval_s, "chunk": batch.chunk, "poller": batch.poller,
        "items": [_item(i) for i in batch.items],
    }
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def decode(data: bytes) -> PollBatch:
    """Parse a batch; ValueError names what is wrong."""
    try:
        doc = json.loads(data)
        if doc.get("v") != FORMAT:
            raise ValueError(f"unknown batch format {doc.get('v')!r}")
        items = [_polled(i) for i in doc["items"]]
        return PollBatch(str(doc["partition"]), str(doc["plan"]), int(doc["slot"]), float(doc["interval_s"]),
                         int(doc["chunk"]), str(doc["poller"]), items)
    except (KeyError, TypeError, IndexError, json.JSONDecodeError) as exc:
        raise ValueError(f"malformed poll batch: {exc}") from None


def _item(i: PolledDevice) -> dict[str, object]:
    r = i.result
    return {"device": r.device, "ok": r.ok, "ts": r.ts, "error": r.error, "error_kind": r.error_kind,
            "ms": r.duration_ms, "observed": r.observed, "planned": i.planned, "state": i.feeds_state,
            "re": i.recheck,
            "samples": [[s.measurement, dict(s.tags), dict(s.fields), s.ts] for s in r.samples]}


def _polled(doc: dict) -> PolledDevice:  # type: ignore[type-arg]
    samples = [Sample(str(m), dict(t), dict(f), int(ts)) for m, t, f, ts in doc["samples"]]
    result = PollResult(str(doc["device"]), bool(doc["ok"]), int(doc["ts"]), samples, doc.get("error"),
                        doc.get("error_kind"), float(doc.get("ms", 0.0)), float(doc.get("observed", 0.0)))
    return PolledDevice(result, float(doc["planned"]), bool(doc.get("state", True)),
                        bool(doc.get("re", False)))
