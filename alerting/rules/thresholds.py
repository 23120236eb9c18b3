"""Rule thresholds at a given time: the rules file, shifted while a typhoon is declared.

The alerting core asks its :data:`Thresholds` provider once per evaluation
instead of having its rules rewritten from outside. The shift itself is an
evaluation decision and lives here: while a storm is in force, battery warnings
come ``minutes`` earlier, so command posts get time to bring fuel or a
generator before a BTS goes dark. Whether a storm is in force is declared in
notify (typhoon mode) and read through a small callable built at the
composition root (:data:`BatteryShift`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from alerting.rules.config import BatteryRules, RulesConfig

log = logging.getLogger(__name__)
Thresholds = Callable[[int], RulesConfig]  # now → the rule settings in force
BatteryShift = Callable[[int], float]  # now → minutes battery warnings come earlier (0: no storm in force)


def fixed(rules: RulesConfig) -> Thresholds:
    """The same thresholds at any time (no typhoon mode)."""
    return lambda _now: rules


def battery_shifted(base: RulesConfig, minutes: float) -> RulesConfig:
    """``base`` with every battery warning and critical threshold ``minutes`` earlier (0: ``base``)."""
    if not minutes:
        return base
    battery = BatteryRules.model_validate({
        **base.battery.model_dump(),
        "warn_minutes": {k: v + minutes for k, v in base.battery.warn_minutes.items()},
        "critical_minutes": {k: v + minutes for k, v in base.battery.critical_minutes.items()},
    })
    return base.model_copy(update={"battery": battery})


class StormThresholds:
    """A :data:`Thresholds` that follows storms: ``base`` outside one, battery-shifted inside one.

    ``shift`` is asked at every evaluation; one shifted copy is kept per shift
    value, so a long storm costs no revalidation per cycle, and each change is
    logged once.
    """

    def __init__(self, base: RulesConfig, shift: BatteryShift) -> None:
        self.base = base
        self.shift = shift
        self._made: dict[float, RulesConfig] = {0.0: base}
        self._last = 0.0

    def __call__(self, now: int) -> RulesConfig:
        """The rule settings in force at ``now``."""
        minutes = float(self.shift(now) or 0.0)
        if minutes not in self._made:
            self._made[minutes] = battery_shifted(self.base, minutes)
        if minutes != self._last:
            self._last = minutes
            if minutes:
                log.warning("typhoon mode: battery thresholds %.0f min earlier", minutes)
            else:
                log.warning("typhoon mode over: battery thresholds from the rules again")
        return self._made[minutes]
