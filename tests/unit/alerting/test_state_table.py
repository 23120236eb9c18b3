"""Every cell of the state model (``alerting.states.STATE_TABLE``), through the real alerting core.

Each row is set up from a fresh core (SQLite), driven to the row's starting
state with whole cycles of results, hit with the row's event, and checked for
the new state and what happened to the device's ``device_down`` incident.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from alerting.core import AlertingCore
from alerting.db import open_database
from alerting.incidents import IncidentKind
from alerting.manager import ChangeKind
from alerting.rules.config import RulesConfig
from alerting.states import STATE_TABLE, Status
from collectors.base import PollResult
from inventory.inventory import Inventory
from store.sqlite import SqliteMetricStore
from tests.unit.alerting.helpers import results

T0 = 1_790_000_000
STEP = 30
STALE = RulesConfig().stale_after_s


def _devices(inv: Inventory) -> tuple[str, str]:
    """A commune's BTS and its parent, the access router."""
    code = inv.watched_communes[3]
    return f"c{code}-bts1", f"c{code}-r1"


def _start(core: AlertingCore, state: str) -> int:
    """Drive the core into ``state`` for the BTS; return the time of the last cycle."""
    inv = core.inventory
    bts, router = _devices(inv)
    if state == "unknown":
        return T0
    core(results(inv, T0))
    if state in ("up", "any"):
        return T0
    if state == "down":
        core(results(inv, T0 + STEP, silent={bts}))
        return T0 + STEP
    if state == "unreachable (known down)":
        core(results(inv, T0 + STEP, silent={bts}))
        core(results(inv, T0 + 2 * STEP, silent={bts, router}))
        return T0 + 2 * STEP
    if state == "unreachable (known up)":
        core(results(inv, T0 + STEP, silent={bts, router}))
        return T0 + STEP
    raise AssertionError(f"no set-up for state {state!r}")


def _event(core: AlertingCore, event: str, at: int) -> None:
    inv = core.inventory
    bts, router = _devices(inv)
    if event == "good answer":
        core(results(inv, at))
    elif event == "confirmed silence, a parent up":
        core(results(inv, at, silent={bts}))
    elif event == "silence, every parent failed":
        core(results(inv, at, silent={bts, router}))
    elif event == "parent fails, not polled yet":
        core({router: results(inv, at, silent={router})[router]})
    elif event == "result older than the newest applied":
        late = results(inv, at - STEP + 1, silent={bts})[bts]
        core.evaluate({bts: replace_observed(late, at - 2 * STEP)}, at)
    elif event == "no observation for stale_after_s":
        core.evaluate({}, at + STALE + 1)
    else:
        raise AssertionError(f"no driver for event {event!r}")


def replace_observed(result: PollResult, observed: float) -> PollResult:
    """The same result, observed at another instant."""
    return replace(result, observed=observed)


EXPECT_INCIDENT: dict[str, Callable[[list[ChangeKind], bool], bool]] = {
    "none": lambda changes, active: not changes and not active,
    "device_down opens": lambda changes, active: changes == [ChangeKind.OPENED] and active,
    "device_down resolves": lambda changes, active: changes == [ChangeKind.RESOLVED] and not active,
    "stays open": lambda changes, active: ChangeKind.RESOLVED not in changes and active,
    "stays open: no longer observable": lambda changes, active: ChangeKind.RESOLVED not in changes and active,
    "stays open: last known": lambda changes, active: ChangeKind.RESOLVED not in changes and active,
    "none (the parent's incident lists it)": lambda changes, active: not changes and not active,
}


@pytest.mark.parametrize("row", STATE_TABLE, ids=[f"{r[0]} | {r[1]}" for r in STATE_TABLE])
def test_state_table_cell(row: tuple[str, str, str, str, str], lab_inventory: Inventory,
                          tmp_path: Path) -> None:
    event, state, new, incident, message = row
    store = SqliteMetricStore(tmp_path / "m.sqlite")
    bts, _router = _devices(lab_inventory)
    seen: list[ChangeKind] = []
    core = AlertingCore(
        lab_inventory, store, open_database(f"sqlite:///{tmp_path / 'a.sqlite'}"),
        subscribers=[lambda changes: seen.extend(c.kind for c in changes if c.incident.device == bts
                                                 and c.incident.kind is IncidentKind.DEVICE_DOWN)])
    at = _start(core, state) + STEP
    before = core.tracker.states[bts].status
    seen.clear()  # only what the event changes
    _event(core, event, at)
    status = core.tracker.states[bts].status
    assert status.value == (before.value if new == "unchanged" else new), row
    active = f"device_down:{bts}" in core.incidents.active()
    assert EXPECT_INCIDENT[incident](seen, active), (row, seen, active)
    assert message == {ChangeKind.OPENED: "DOWN", ChangeKind.RESOLVED: "RECOVERED"}.get(
        seen[0] if seen else None, "none"), row  # type: ignore[arg-type]
    store.close()


def test_table_covers_every_status_people_see() -> None:
    starts = {r[1].split(" ")[0] for r in STATE_TABLE}
    assert {"unknown", "up", "down", "unreachable"} <= starts
    assert {r[2] for r in STATE_TABLE} >= {s.value for s in (Status.UP, Status.DOWN, Status.UNREACHABLE,
                                                             Status.UNKNOWN)}

