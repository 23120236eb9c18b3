"""Availability reports, DII indicators, exports, scheduled monthly reports and IOC webhooks.

Everything here reads the alerting database (state history, incidents) and the
inventory; nothing polls or changes states. :func:`build_report` is the entry
point the dashboard, the IOC API, the CLI and the monthly scheduler share.
"""

from reports.availability import (
    DeviceAvailability,
    GroupAvailability,
    compute_devices,
    group_devices,
)
from reports.report import AvailabilityReport, build_report

__all__ = ["AvailabilityReport", "DeviceAvailability", "GroupAvailability", "build_report", "compute_devices",
           "group_devices"]
