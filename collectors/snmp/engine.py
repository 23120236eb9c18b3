"""What an SNMP engine offers the collector, whichever library is underneath.

Two engines implement it: :class:`collectors.snmp.fast.FastEngine` (v1/v2c,
own BER codec, one shared UDP socket) and
:class:`collectors.snmp.pysnmp_engine.PysnmpEngine` (every version, v3 USM).
Both return plain values (:mod:`collectors.snmp.values`), so the collector
gives identical samples with either; shared tests prove it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from collectors.snmp.values import Oid, Value


@dataclass(frozen=True, slots=True)
class Target:
    """One device as an engine sees it; ``credential`` is an inventory credential object."""

    device: str
    host: str
    port: int
    credential_name: str
    credential: object
    timeout_s: float = 2.0
    retries: int = 1

    @property
    def version(self) -> int:
        """SNMP version on the wire: 0 (v1), 1 (v2c) or 3."""
        kind = getattr(self.credential, "kind", "")
        return {"snmp_v1": 0, "snmp_v2c": 1, "snmp_v3": 3}.get(kind, -1)

    def __repr__(self) -> str:  # never show the credential
        return f"Target({self.device}, {self.host}:{self.port}, v{self.version})"


@dataclass(frozen=True, slots=True)
class Response:
    """An answer: error-status/index (0 = fine) and the varbinds in order."""

    error_status: int
    error_index: int
    binds: list[tuple[Oid, Value]]


class SnmpEngine(Protocol):
    """Sends requests for the collector; raises PollTimeout/DeviceAuthError/DeviceProtocolError."""

    name: str

    def supports(self, target: Target) -> bool:
        """True when this engine can talk to ``target`` (version, security)."""

    async def get(self, target: Target, oids: list[Oid]) -> Response:
        """One GET of ``oids``."""

    async def next(self, target: Target, oids: list[Oid]) -> Response:
        """One GETNEXT of ``oids``."""

    async def bulk(self, target: Target, non_repeaters: list[Oid], repeaters: list[Oid],
                   max_repetitions: int) -> Response:
        """One GETBULK: scalars as non-repeaters, table columns as repeaters."""

    def close(self) -> None:
        """Release sockets."""
