"""Soft before hard: how often and how fast a silent device is re-checked before it counts as down.

Why: one lost UDP answer, or an agent busy for a few seconds, must not page a
command post. As Nagios/Icinga's ``max_check_attempts`` and ``retry_interval``,
a state-deciding poll that fails on a device not already known down is
repeated at once, ``spacing_s`` apart, up to ``rechecks`` times; the first
good answer declares the device up. Meanwhile its parents are checked, so a
child silenced by its parent's failure is *unreachable*, not *down*. The whole
confirmation must fit in the few seconds between detection and the first
message (poll interval + 10 s), so the defaults are small.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Confirmation:
    """Re-checks of a failed poll before its result decides a state; per role overrides."""

    rechecks: int = 1
    spacing_s: float = 0.5
    by_role: Mapping[str, int] = field(default_factory=dict)

    def rechecks_for(self, role: str) -> int:
        """Re-checks for a device of ``role``."""
        return self.by_role.get(role, self.rechecks)


def parse_by_role(text: str) -> dict[str, int]:
    """``"bts=3,power=2"`` → ``{"bts": 3, "power": 2}``; ValueError names the bad part."""
    out: dict[str, int] = {}
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        role, sep, count = part.partition("=")
        if not sep or not role.strip() or not count.strip().isdigit():
            raise ValueError(f"expected role=count, got {part!r}")
        out[role.strip()] = int(count)
    return out
