"""Rules as data: thresholds, confirmation counts, flapping and escalation timings.

Loaded from a YAML file validated like the inventory (file, line, field, value;
nothing half-applied). With no file, the defaults here suit the lab.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

from alerting.incidents import Severity
from common.errors import ConfigError
from inventory.sources import read_yaml_model

SeverityName = str


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FlappingRules(_Strict):
    """Icinga-style weighted state-change detection with hysteresis."""

    window: int = Field(default=21, ge=5, le=100)
    min_checks: int = Field(default=6, ge=3, le=100)
    # denominator floor = the whole window: two separate outages (4 changes, ~22 %) are not flapping,
    # a third within the window is; a short history after start never inflates the percentage
    min_slots: int = Field(default=20, ge=1, le=100)
    min_outages: int = Field(default=3, ge=2, le=100)  # this many brief outages in the window are flapping
    brief_run: int = Field(default=1, ge=1, le=20)  # observations; a longer outage is real, never a flap
    start_pct: float = Field(default=30.0, gt=0, le=100)
    stop_pct: float = Field(default=25.0, ge=0, le=100)

    @model_validator(mode="after")
    def _hysteresis(self) -> FlappingRules:
        if self.stop_pct > self.start_pct:
            raise ValueError("stop_pct must not be above start_pct")
        return self


class BatteryRules(_Strict):
    """When a BTS on battery becomes urgent, per disaster-hardening level."""

    warn_minutes: dict[str, float] = {"default": 60.0}
    critical_minutes: dict[str, float] = {"default": 30.0}
    fit_window_s: int = Field(default=900, ge=60)
    fit_min_points: int = Field(default=3, ge=2)

    def critical_for(self, hardening: int | None) -> float:
        """Critical threshold (minutes left) for a hardening level."""
        return self.critical_minutes.get(str(hardening), self.critical_minutes.get("default", 30.0))

    def warn_for(self, hardening: int | None) -> float:
        """Warning threshold (minutes left) for a hardening level."""
        return self.warn_minutes.get(str(hardening), self.warn_minutes.get("default", 60.0))


class FailoverRules(_Strict):
    """Backup-connection plan (Decision 33/2025): how long on backup before escalating."""

    escalate_after_s: int = Field(default=7200, ge=60)


class RulesConfig(_Strict):
    """All rule settings."""

    # Failed polls (each already retried by the collector) before a device is down.
    confirm_failures: int = Field(default=1, ge=1, le=10)
    # No observation of a device for this long: its state becomes unknown (its incidents stay
    # open on the last known state). Above the slowest downtime backoff (600 s).
    stale_after_s: int = Field(default=900, ge=60)
    flapping: FlappingRules = FlappingRules()  # devices: every real outage is told on its own
    # primary links: failover already carries the traffic, so a link that keeps changing, whatever the
    # length of each change, is one flapping problem rather than a message per change
    link_flapping: FlappingRules = FlappingRules(brief_run=20)
    battery: BatteryRules = BatteryRules()
    failover: FailoverRules = FailoverRules()
    device_down_severity: dict[str, Severity] = {
        "router": Severity.MAJOR, "switch": Severity.WARNING, "dns": Severity.CRITICAL,
        "bts": Severity.MAJOR, "power": Severity.MAJOR, "leo": Severity.MAJOR,
    }
    dns_serial_lag_s: int = Field(default=600, ge=0)


def load_rules(path: Path | None) -> RulesConfig:
    """Rules from ``path`` (None: defaults); ConfigError names file, line and field."""
    if path is None:
        return RulesConfig()
    _located, rules, problems = read_yaml_model(path, RulesConfig)
    if rules is None:
        raise ConfigError(problems, "rules")
    return rules
