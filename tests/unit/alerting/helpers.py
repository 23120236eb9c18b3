"""Build poll results the way the SNMP collector does, for driving the alerting core."""

from __future__ import annotations

from collectors.base import PollResult
from inventory.inventory import Inventory
from store.base import Sample


def results(inv: Inventory, ts: int, *, silent: set[str] = frozenset(),  # type: ignore[assignment]
            if_down: dict[str, set[int]] | None = None) -> dict[str, PollResult]:
    """One cycle's results: every device answers unless silent; link interfaces per ``if_down``."""
    if_down = if_down or {}
    out = {}
    for dev_id in inv.devices:
        if dev_id in silent:
            out[dev_id] = PollResult(dev_id, False, ts, error=f"{dev_id}: no SNMP answer (timeout)",
                                     error_kind="timeout")
            continue
        samples = []
        if dev_id.endswith("-r1"):
            for index in (1, 2, 3, 4):
                oper = 2 if index in if_down.get(dev_id, set()) else 1
                samples.append(Sample("snmp_if", {"device": dev_id, "if_index": str(index)},
                                      {"oper_status": oper, "admin_status": 1}, ts))
        out[dev_id] = PollResult(dev_id, True, ts, samples=samples)
    return out
