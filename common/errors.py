"""One error hierarchy for Trucban.

Every error a person may read says what went wrong and what to do about it.
Leaves also subclass the matching builtin, so callers that only know Python's
own exceptions (a poll timeout is a ``TimeoutError``) still catch them.
"""

from __future__ import annotations

from dataclasses import dataclass


class TrucbanError(Exception):
    """Base of every error Trucban raises on purpose."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input file: where it is and what is wrong."""

    file: str
    line: int | None
    field: str
    value: object
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        shown = _short(self.value)
        return f"{where}: {self.field}: {self.message} (value: {shown})"


def _short(value: object, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


class ConfigError(TrucbanError, ValueError):
    """A configuration or data file is invalid; nothing from it was applied."""

    def __init__(self, problems: list[Problem], what: str = "configuration") -> None:
        self.problems = problems
        lines = "\n  ".join(str(p) for p in problems)
        super().__init__(f"{what} rejected, {len(problems)} problem(s), nothing loaded:\n  {lines}")


class InventoryError(ConfigError):
    """The inventory (YAML/CSV) is invalid; the whole load is rejected."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(problems, what="inventory")


class CollectorError(TrucbanError):
    """A device could not be collected from (base of the per-protocol errors).

    ``kind`` is the ``error_kind`` a PollResult reports; drivers' named errors override it.
    """

    kind = "protocol"

    def __init__(self, device: str, message: str) -> None:
        self.device = device
        super().__init__(f"{device}: {message}")


class PollTimeout(CollectorError, TimeoutError):
    """The device did not answer within its timeout and retries."""

    kind = "timeout"


class DeviceAuthError(CollectorError, PermissionError):
    """The device rejected our credentials (wrong community, v3 user or key)."""

    kind = "auth"


class DeviceProtocolError(CollectorError, ConnectionError):
    """The device answered with an error or something we could not understand."""


class StoreUnavailable(TrucbanError, ConnectionError):
    """The metric store cannot be reached; samples go to the spool instead."""


class LabError(TrucbanError, RuntimeError):
    """The simulated lab could not be started or changed."""
