"""The storm desk: import a bulletin, see who is exposed, propose typhoon mode, confirm it.

Import never changes anything by itself: it stores the forecast with its
exposure and a readiness report for exactly the exposed communes, as a
*proposal*. A coordinator confirms it with one action, which declares typhoon
mode (through the notification service) for those communes and that window.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from shapely.errors import GEOSException
from sqlalchemy import Engine, delete, insert, select, update

from alerting.history import StateHistory
from alerting.network_view import TrackedNetwork
from alerting.notify.readiness import readiness
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
    exposure: list[dict[str, Any]]
    readiness: dict[str, list[str]]
    status: str
    decided_by: str | None = None
    decided_at: int | None = None
    declaration_id: int | None = None
    overlay: dict[str, Any] = field(default_factory=dict)  # on import only; else StormDesk.overlay()

    @property
    def communes(self) -> list[str]:
        """Codes of the exposed communes, earliest arrival first."""
        return [e["code"] for e in self.exposure]


@dataclass(frozen=True)
class StormSummary:
    """One line of the storm list: no overlay, no readiness."""

    id: int
    name: str
    source: str
    imported_at: int
    imported_by: str
    status: str
    decided_at: int | None
    exposure: list[dict[str, Any]]  # code and eta only (for the caller's own count and times)


@dataclass(frozen=True)
class Prepared:
    """A parsed bulletin with its exposure and overlay, not stored yet (built off the event loop)."""

    track: Track
    filename: str
    exposed: list[CommuneExposure]
    overlay: dict[str, Any]


def parse_track(path: Path, content: bytes | None = None) -> Track:
    """Parse a forecast file by its extension; TrackError on anything wrong."""
    parser = PARSERS.get(path.suffix.lower())
    if parser is None:
        raise TrackError(f"{path}: unknown forecast format (use {', '.join(sorted(PARSERS))})")
    try:
        if content is None:
            return parser(path)
        text: Any = content if parser is parse_cap else content.decode("utf-8-sig")
        return parser(path, text)
    except TrackError:
        raise
    except UnicodeDecodeError as exc:
        raise TrackError(f"{path}: không phải UTF-8 (not UTF-8) at byte {exc.start}") from None
    except (ValueError, TypeError, OverflowError, RecursionError, GEOSException) as exc:
        why = f"{type(exc).__name__}: {str(exc)[:120]}"
        raise TrackError(f"{path}: không đọc được bản tin (unreadable): {why}") from None


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
        return self.store(self.prepare(path, content), by)

    def prepare(self, path: Path, content: bytes | None = None) -> Prepared:
        """Parse, exposure and the bounded overlay: CPU only, no shared state (run it in a worker)."""
        track = parse_track(path, content)
        names = {c: self.inventory.commune_ref(c).name for c in self.inventory.watched_communes}
        exposed = exposure(track, commune_places(self.inventory), names)
        return Prepared(track, path.name, exposed, overlay(track))

    def store(self, prepared: Prepared, by: str) -> StormProposal:
        """Readiness of the exposed communes, then store the proposal."""
        view = TrackedNetwork(self.core.tracker, self.core.store)
        report = readiness(self.inventory, view, [e.code for e in prepared.exposed])
        values = dict(
            name=prepared.track.name[:200],
            source=prepared.track.source,
            filename=prepared.filename[:300],
            imported_at=int(self.clock()),
            imported_by=by,
            overlay=prepared.overlay,
            exposure=[_exposure_row(e) for e in prepared.exposed],
            readiness=report.as_dict(),
            status="proposed",
        )
        with self.engine.begin() as conn:
            key = conn.execute(insert(storm_tracks).values(**values)).inserted_primary_key
        assert key is not None
        return StormProposal(id=int(key[0]), **values)  # type: ignore[arg-type]

    def get(self, storm_id: int) -> StormProposal:
        """One imported storm (without its overlay: :meth:`overlay`)."""
        with self.engine.connect() as conn:
            row = conn.execute(select(*_DETAIL).where(storm_tracks.c.id == storm_id)).first()
        if row is None:
            raise StormNotFound(f"storm {storm_id} has not been imported")
        return _proposal(row._asdict())

    def overlay(self, storm_id: int) -> dict[str, Any]:
        """The stored map overlay of one storm (bounded GeoJSON)."""
        with self.engine.connect() as conn:
            value = conn.execute(select(storm_tracks.c.overlay).where(storm_tracks.c.id == storm_id)).scalar()
        if value is None:
            raise StormNotFound(f"storm {storm_id} has not been imported")
        return dict(value)

    def recent(self, limit: int = 20) -> list[StormProposal]:
        """Newest imports first (without overlays)."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(*_DETAIL).order_by(storm_tracks.c.id.desc()).limit(limit))
            return [_proposal(r._asdict()) for r in rows]

    def summaries(self, limit: int = 50) -> list[StormSummary]:
        """The storm list: newest first, names, times and who is exposed, nothing heavy."""
        columns = [storm_tracks.c[n] for n in ("id", "name", "source", "imported_at", "imported_by", "status",
                                               "decided_at", "exposure")]
        with self.engine.connect() as conn:
            rows = conn.execute(select(*columns).order_by(storm_tracks.c.id.desc()).limit(limit))
            return [StormSummary(**{**r._asdict(), "exposure": [{"code": e["code"], "eta": int(e["eta"])}
                                                                for e in r.exposure]}) for r in rows]

    def delete(self, storm_id: int) -> str:
        """Forget an imported storm (a declared typhoon mode is not touched); its name."""
        with self.engine.begin() as conn:
            name = conn.execute(select(storm_tracks.c.name).where(storm_tracks.c.id == storm_id)).scalar()
            if name is None:
                raise StormNotFound(f"storm {storm_id} has not been imported")
            conn.execute(delete(storm_tracks).where(storm_tracks.c.id == storm_id))
        return str(name)

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


_DETAIL = [c for c in storm_tracks.c if c.name != "overlay"]


def _proposal(r: dict[str, Any]) -> StormProposal:
    r.pop("note", None)
    return StormProposal(**r)
