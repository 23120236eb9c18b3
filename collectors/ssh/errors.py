"""Named SSH CLI failure states; each carries the ``error_kind`` a PollResult reports."""

from __future__ import annotations

from common.errors import DeviceAuthError, DeviceProtocolError, PollTimeout


class CliTimeout(PollTimeout):
    """The SSH login or a command did not finish within its timeout."""

    kind = "timeout"


class CliAuthError(DeviceAuthError):
    """The SSH login (or ``enable``) was rejected."""

    kind = "auth"


class CliUnreachable(DeviceProtocolError):
    """No SSH session could be opened or it broke (refused, reset)."""

    kind = "unreachable"


class CliUnparseable(DeviceProtocolError):
    """A command's output did not parse; the raw text is kept for the operator."""

    kind = "unparseable"

    def __init__(self, device: str, command: str, raw: str, reason: str) -> None:
        self.command = command
        self.raw = raw
        super().__init__(device, f"output of {command!r} could not be parsed ({reason}); raw text kept")
