"""Counter rates done right: 32/64-bit wrap, reboot discontinuity, per second.

Why: raw SNMP counters are useless on a graph; the rate between two polls is
what people read. Three traps: a Counter32 wraps at 2**32 (a 1 Gbit/s link
every ~34 s), a device reboot resets every counter (sysUpTime goes backwards,
so no rate is produced across it), and a Counter64 going backwards without a
reboot means the counters were cleared (no rate either, never a huge spike).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from collectors.snmp.profile import Table
from collectors.snmp.values import Counter32, Counter64
from store.base import FieldValue, Sample

log = logging.getLogger(__name__)
TICKS_WRAP = 2**32
RATE_SUFFIX = "_per_s"


@dataclass(slots=True)
class _DeviceMemory:
    uptime: int | None
    at: float
    series: dict[tuple, dict[str, int]] = field(default_factory=dict)


def counter_delta(old: int, new: int, bits: int) -> int | None:
    """Increase of a counter between two reads; None when it is a discontinuity."""
    if new >= old:
        return new - old
    if bits == 32:
        return new + 2**32 - old
    return None  # a Counter64 never wraps in practice: it was reset


def rebooted(old_ticks: int, new_ticks: int, elapsed_s: float) -> bool:
    """True when sysUpTime went backwards for a reason other than its own 2**32 wrap (497 days)."""
    if new_ticks >= old_ticks:
        return False
    expected = old_ticks + elapsed_s * 100
    return not (expected >= TICKS_WRAP and abs(expected - TICKS_WRAP - new_ticks) < max(100, elapsed_s * 50))


class RateTracker:
    """Remembers the last counters of every series and adds ``<field>_per_s`` rates."""

    def __init__(self) -> None:
        self._devices: dict[str, _DeviceMemory] = {}

    def forget(self, device: str) -> None:
        """Drop what is remembered about ``device``."""
        self._devices.pop(device, None)

    def apply(self, device: str, uptime_ticks: int | None, samples: list[Sample], now: float,
              tables: tuple[Table, ...] = ()) -> list[Sample]:
        """Samples with rate (and utilisation) fields added; counters stay as read.

        ``now`` is a monotonic clock reading of this poll; ``uptime_ticks`` the
        device's sysUpTime in the same answer (None when not polled).
        """
        memory = self._devices.get(device)
        fresh = _DeviceMemory(uptime_ticks, now)
        self._devices[device] = fresh
        usable = memory is not None and now > memory.at
        if usable and memory is not None and uptime_ticks is not None and memory.uptime is not None \
                and rebooted(memory.uptime, uptime_ticks, now - memory.at):
            log.info("%s: sysUpTime went backwards (%d → %d): reboot, counters restart", device,
                     memory.uptime, uptime_ticks)
            usable = False
        utils = {t.measurement: t.utilisation for t in tables if t.utilisation}
        out = []
        for sample in samples:
            counters = {k: v for k, v in sample.fields.items() if isinstance(v, Counter32 | Counter64)}
            if not counters:
                out.append(sample)
                continue
            key = sample.series_key()
            fresh.series[key] = dict(counters)
            old = memory.series.get(key) if usable and memory is not None else None
            if old is None or memory is None:
                out.append(sample)
                continue
            elapsed = now - memory.at
            extra: dict[str, FieldValue] = {}
            for name, value in counters.items():
                if name in old:
                    delta = counter_delta(old[name], value, value.bits)
                    if delta is not None:
                        extra[name + RATE_SUFFIX] = round(delta / elapsed, 3)
            for util in utils.get(sample.measurement, ()):
                rate, speed = extra.get(util.counter + RATE_SUFFIX), sample.fields.get(util.speed_mbps)
                if isinstance(rate, float) and isinstance(speed, int) and speed > 0:
                    extra[util.field] = round(rate * 8 / (speed * 1e6) * 100, 3)
            out.append(Sample(sample.measurement, sample.tags, {**sample.fields, **extra}, sample.ts))
        return out
