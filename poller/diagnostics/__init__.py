"""Automated, read-only diagnostics run when an incident opens (the runbook says which).

``allowlist.yaml`` holds what may ever be sent, per CLI platform, NETCONF get
and DNS type; :class:`DiagnosticRunner` refuses anything else and anything
that looks like configuration; :class:`DiagnosticsSubscriber` hooks the runner
to the alerting core and writes each run's output to the incident timeline.
"""

from __future__ import annotations

from poller.diagnostics.allowlist import AllowList, DiagnosticRefused, load_allowlist
from poller.diagnostics.runner import DiagnosticRunner
from poller.diagnostics.steps import DiagnosticReport, Step, StepResult
from poller.diagnostics.subscriber import DiagnosticsSubscriber, build_diagnostics, check_catalog

__all__ = ["AllowList", "DiagnosticRefused", "DiagnosticReport", "DiagnosticRunner", "DiagnosticsSubscriber",
           "Step", "StepResult", "build_diagnostics", "check_catalog", "load_allowlist"]
