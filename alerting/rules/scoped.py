"""Rules that can be evaluated one subject at a time, for incremental evaluation.

Results arrive a few hundred devices at a time, several times a second, and a
national inventory has ~27k devices: running every rule over everything at
each delivery costs far more than the deliveries change. A rule that is
declared here as a :class:`ScopedRule` is split by *subject* (a device, a
commune): its findings for one subject are a function of the inventory, the
tracker's states, the rules in force and the clock only, and the rule says
which subjects a changed device or link can affect and for which instants a
finding stays true. The core (``alerting.incremental``) then recomputes only
the subjects that something touched and keeps the others' findings.

The whole rule is the concatenation of the per-subject findings in
``subjects`` order, so the full and the incremental evaluation share one
function per subject and cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence, Set
from dataclasses import dataclass

from alerting.incidents import Condition
from alerting.rules.context import RuleContext


@dataclass(frozen=True, slots=True)
class Findings:
    """One subject's conditions, and for which evaluation instants they hold.

    With no time bounds the findings change only when a state they read
    changes. ``lo``/``hi``: they hold for an evaluation at ``now`` with
    ``lo <= now < hi`` (None: unbounded), e.g. until a stay on backup escalates.
    ``exact``: they hold only at the very instant they were made for (a
    condition that names ``now`` itself, such as a flapping one's ``since``).
    """

    conditions: tuple[Condition, ...] = ()
    lo: int | None = None
    hi: int | None = None
    exact: bool = False

    @property
    def timed(self) -> bool:
        """Whether the clock alone can change these findings."""
        return self.exact or self.lo is not None or self.hi is not None

    def holds_at(self, made_at: int, now: int) -> bool:
        """Whether findings made at ``made_at`` are still the rule's answer at ``now``."""
        if self.exact:
            return now == made_at
        return (self.lo is None or now >= self.lo) and (self.hi is None or now < self.hi)


NOTHING = Findings()


@dataclass(frozen=True, slots=True)
class ScopedRule:
    """A rule split by subject.

    ``subjects(ctx)``: every subject, in the order the whole rule lists its findings.
    ``affected(ctx, devices, links)``: the subjects whose findings may change when the
    states of these devices and links changed (a superset is fine, a subset is a bug).
    ``findings(ctx, subject)``: that subject's findings.
    """

    name: str
    subjects: Callable[[RuleContext], Sequence[str]]
    affected: Callable[[RuleContext, Set[str], Set[str]], set[str]]
    findings: Callable[[RuleContext, str], Findings]

    def whole(self, ctx: RuleContext) -> list[Condition]:
        """Every subject's findings, in order: the rule evaluated over everything."""
        out: list[Condition] = []
        for subject in self.subjects(ctx):
            out += self.findings(ctx, subject).conditions
        return out
