"""State history: when each device and link was up, down, unreachable, in maintenance.

Every status transition closes the subject's open interval and opens the next,
so availability can be computed to the second for any period without reading
raw samples. Links are stored as ``link:<id>``.

A cycle's transitions that cannot be written (disk full or read-only) are
kept in memory, in order, and written before the next cycle's; the failure is
logged once and counted (``alerting.staterepo.write_health``). Past
``MAX_PENDING`` waiting transitions the oldest are given up, counted too.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import (
    BigInteger,
    Column,
    Engine,
    Index,
    Integer,
    String,
    Table,
    Text,
    and_,
    or_,
    select,
)

from alerting.bulk import execute_many
from alerting.staterepo import WRITE_ERRORS, write_health
from alerting.states import Transition
from common.db import metadata

MAX_PENDING = 100_000
state_history = Table(
    "state_history", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("subject", String(80), nullable=False),
    Column("status", String(20), nullable=False),
    Column("started_at", BigInteger, nullable=False),
    Column("ended_at", BigInteger),
    Column("reason", Text, nullable=False),
    Index("ix_state_history_subject", "subject", "started_at"),
    Index("ix_state_history_open", "ended_at"),
)


# a subject's open interval ends where the next begins; the next is opened (driver SQL: alerting.bulk)
CLOSE = "UPDATE state_history SET ended_at = {} WHERE subject = {} AND ended_at IS NULL"
OPEN = ("INSERT INTO state_history (subject, status, started_at, ended_at, reason) "
        "VALUES ({}, {}, {}, NULL, {})")


@dataclass(frozen=True, slots=True)
class Interval:
    """One status interval of a subject, clipped to the period asked for."""

    subject: str
    status: str
    start: int
    end: int


class StateHistory:
    """Appends transitions; answers "what was each subject's status during [start, end)"."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.health = write_health(engine)
        self._pending: list[list[tuple]] = []  # cycles not written yet, oldest first (OPEN's rows)
        self.given_up = 0  # transitions dropped because too many waited

    @property
    def pending(self) -> int:
        """Transitions waiting to be written."""
        return sum(len(rows) for rows in self._pending)

    def record(self, transitions: Iterable[Transition], links: set[str]) -> bool:
        """Close open intervals and open new ones, one transaction for the whole cycle.

        Transitions of earlier cycles that could not be written go first. False
        when the database refused: nothing is raised, the rows wait for the next call.
        """
        rows = [(f"link:{t.device}" if t.device in links else t.device, t.new.value, t.ts, t.reason[:500])
                for t in transitions]
        if rows:
            self._pending.append(rows)
        if not self._pending:
            return True
        try:
            with self.engine.begin() as conn:
                for batch in self._pending:  # one cycle after the other: each closes what the last opened
                    execute_many(conn, CLOSE, [(ts, subject) for subject, _s, ts, _r in batch])
                    execute_many(conn, OPEN, batch)
        except WRITE_ERRORS as exc:
            self.health.failed("history", exc)
            while len(self._pending) > 1 and self.pending > MAX_PENDING:
                self.given_up += len(self._pending.pop(0))
                self.health.lost["history"] = self.given_up
            return False
        self._pending.clear()
        self.health.ok("history")
        return True

    def intervals(self, start: int, end: int, subjects: Iterable[str] | None = None) -> list[Interval]:
        """Every interval overlapping [start, end), clipped to it; open intervals run to ``end``."""
        c = state_history.c
        query = select(c.subject, c.status, c.started_at, c.ended_at).where(
            and_(c.started_at < end, or_(c.ended_at.is_(None), c.ended_at > start)))
        wanted = None if subjects is None else set(subjects)
        out = []
        with self.engine.connect() as conn:
            for subject, status, s, e in conn.execute(query):
                if wanted is not None and subject not in wanted:
                    continue
                lo, hi = max(s, start), min(e if e is not None else end, end)
                if hi > lo:
                    out.append(Interval(subject, status, lo, hi))
        return sorted(out, key=lambda i: (i.subject, i.start))
