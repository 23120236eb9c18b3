"""Named NETCONF failure states; each carries the ``error_kind`` a PollResult reports."""

from __future__ import annotations

from common.errors import DeviceAuthError, DeviceProtocolError, PollTimeout


class NetconfTimeout(PollTimeout):
    """No answer to an RPC or to the SSH/NETCONF hello within the timeout."""

    kind = "timeout"


class NetconfAuthError(DeviceAuthError):
    """The SSH login for the NETCONF subsystem was rejected."""

    kind = "auth"


class NetconfUnreachable(DeviceProtocolError):
    """No SSH/NETCONF session could be opened (refused, reset, no subsystem)."""

    kind = "unreachable"


class NetconfRpcError(DeviceProtocolError):
    """The device answered an RPC with ``<rpc-error>`` (tag, severity and message kept)."""

    kind = "rpc_error"


class MalformedReply(DeviceProtocolError):
    """The device sent an answer that is not well-formed XML or not the expected shape."""

    kind = "malformed_xml"
