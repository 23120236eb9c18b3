"""The storm desk: import a bulletin, see who is exposed, propose typhoon mode, confirm it.

Import never changes anything by itself: it stores the forecast with its
exposure and a readiness report for exactly the exposed communes, as a
*proposal*. A coordinator confirms it with one action, which declares typhoon
mode (through the notification service) for those communes and that window.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, insert, select, update

from alerting.history import StateHistory
from alerting.notify.readiness import CoreView, readiness
from inventory.inventory import Inventory
from storm.exposure import CommuneExposure, commune_places, exposure
from storm.model import Track, TrackError
from storm.overlay import overlay
from storm.parse_cap import parse_cap
from storm.parse_geojson import parse_geojson
from storm.parse_ibtracs import parse_ibtracs
from storm.replay import CommuneReplay, replay
from storm.tables import storm_tracks

LEAD_S = 6 * 3600  # typhoon mode starts this long before the first arrival
TAIL_S = 24 * 3600  # and lasts this long after the last
PARSERS: dict[str, Callable[..., Track]] = {
    ".geojson": parse_geojson,
    ".json": parse_geojson,
    ".xml": parse_cap,
    ".cap": parse_cap,
    ".csv": parse_ibtracs,
}


class StormNotFound(LookupError):
    """No imported storm with that id."""


@dataclass
class StormProposal:
    """An imported forecast and what Trucban proposes to do about it."""

    id: int
    name: str
    source: str
    filename: str
    imported_at: int
    imported_by: str
    overlay: dict[str, Any]
    exposure: list[dict[str, Any]]
    readiness: dict[str, list[str]]
    status: str
    decided_by: str | None = None
    decided_at: int | None = None
    declaration_id: int | None = None

    @property
    def communes(self) -> list[str]:
        """Codes of the exposed communes, earliest arrival first."""
        return [e["code"] for e in self.exposure]


def parse_track(path: Path, content: bytes | None = None) -> Track:
    """Parse a forecast file by its extension; TrackError on anything wrong."""
    parser = PARSERS.get(path.suffix.lower())
    if parser is None:
        raise TrackError(f"{path}: unknown forecast format (use {', '.join(sorted(PARSERS))})")
    if content is None:
        return parser(path)
    text: Any = content if parser is parse_cap else content.decode("utf-8")
    return parser(path, text)


class StormDesk:
    """Imports forecasts and turns a confirmed one into typhoon mode."""

    def __init__(
        self,
        engine: Engine,
        inventory: Inventory,
        core: Any,
        notify: Any | None = None,
        clock: Any = time.time,
    ) -> None:
        self.engine = engine
        self.inventory = inventory
        self.core = core
        self.notify = notify
        self.clock = clock

    def import_track(self, path: Path, by: str, content: bytes | None = None) -> StormProposal:
        """Parse, compute exposure and readiness, store as a proposal."""
        track = parse_track(path, content)
        names = {c: self.inventory.commune_ref(c).name for c in self.inventory.watched_communes}
        exposed = exposure(track, commune_places(self.inventory), names)
        report = readiness(self.inventory, CoreView(self.core), [e.code for e in exposed])
        values = dict(
            name=track.name,
            source=track.source,
            filename=path.name,
            imported_at=int(self.clock()),
            imported_by=by,
            overlay=overlay(track),
            exposure=[_exposure_row(e) for e in exposed],
            readiness=report.as_dict(),
            status="proposed",
        )
        with self.engine.begin() as conn:
            key = conn.execute(insert(storm_tracks).values(**values)).inserted_primary_key
        assert key is not None
        return StormProposal(id=int(key[0]), **values)  # type: ignore[arg-type]

    def get(self, storm_id: int) -> StormProposal:
        """One imported storm."""
        with self.engine.connect() as conn:
            row = conn.execute(select(storm_tracks).where(storm_tracks.c.id == storm_id)).first()
        if row is None:
            raise StormNotFound(f"storm {storm_id} has not been imported")
        return _proposal(row._asdict())

    def recent(self, limit: int = 20) -> list[StormProposal]:
        """Newest imports first."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(storm_tracks).order_by(storm_tracks.c.id.desc()).limit(limit))
            return [_proposal(r._asdict()) for r in rows]

    def confirm(self, storm_id: int, by: str) -> StormProposal:
        """Declare typhoon mode for exactly the exposed communes (one action)."""
        storm = self.get(storm_id)
        if storm.status != "proposed":
            raise ValueError(f"storm {storm_id} is already {storm.status}")
        if not storm.exposure:
            raise ValueError(f"storm {storm_id} exposes no watched commune: nothing to declare")
        if self.notify is None:
            raise ValueError("notification service is off: typhoon mode cannot be declared")
        now = int(self.clock())
        etas = [int(e["eta"]) for e in storm.exposure]
        if max(etas) + TAIL_S <= now:
            raise ValueError(
                f"storm {storm_id} has already passed (a historical track is for replay "
                "and exercises, not for typhoon mode)"
            )
        decl = self.notify.declare_typhoon(
            storm.name,
            by=by,
            communes=storm.communes,
            starts_at=max(now, min(etas) - LEAD_S),
            ends_at=max(etas) + TAIL_S,
        )
        self._decide(storm_id, "confirmed", by, now, decl.id)
        return self.get(storm_id)

    def dismiss(self, storm_id: int, by: str) -> StormProposal:
        """Record that the proposal was looked at and not taken."""
        self._decide(storm_id, "dismissed", by, int(self.clock()), None)
        return self.get(storm_id)

    def replay(self, storm_id: int) -> list[CommuneReplay]:
        """The recorded fate of the exposed communes around the storm's arrival (drills, reviews)."""
        return replay(self.get(storm_id).exposure, self.inventory, StateHistory(self.engine))

    def _decide(self, storm_id: int, status: str, by: str, now: int, declaration: int | None) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(storm_tracks)
                .where(storm_tracks.c.id == storm_id)
                .values(status=status, decided_by=by, decided_at=now, declaration_id=declaration)
            )


def _exposure_row(e: CommuneExposure) -> dict[str, Any]:
    row = asdict(e)
    row["closest_km"] = None if e.closest_km is None else round(e.closest_km, 1)
    return row


def _proposal(r: dict[str, Any]) -> StormProposal:
    r.pop("note", None)
    return StormProposal(**r)
