"""Runbooks: what a person does for each kind of incident, in Vietnamese.

One Markdown file per :class:`alerting.incidents.IncidentKind` (plus the typhoon
procedures), each with a small YAML front-matter; :mod:`runbooks.catalog`
loads and validates them, :mod:`runbooks.render` fills in an incident's values.
"""

from __future__ import annotations

from runbooks.catalog import PROCEDURES, Catalog, Runbook, load_catalog, runbook_dir
from runbooks.render import render_runbook, render_runbook_html

__all__ = ["PROCEDURES", "Catalog", "Runbook", "load_catalog", "render_runbook", "render_runbook_html",
           "runbook_dir"]
