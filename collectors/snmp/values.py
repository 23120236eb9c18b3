"""Engine-neutral SNMP values: what both SNMP engines hand to the decoder.

Why: the collector can run on pysnmp or on the compiled-free fast codec
(:mod:`collectors.snmp.ber`); both must give identical samples, so both turn
their answers into these plain Python values first.

- INTEGER → ``int``; Counter32/Counter64/Gauge32/TimeTicks → the int subclasses below
- OCTET STRING → ``bytes``; OBJECT IDENTIFIER → ``tuple[int, ...]``; IpAddress → :class:`IpAddress`
- noSuchObject / noSuchInstance / endOfMibView → the :class:`Absent` singletons
"""

from __future__ import annotations

from store.base import FieldValue

Oid = tuple[int, ...]


class Counter32(int):
    """SNMP Counter32: wraps at 2**32."""

    bits = 32


class Counter64(int):
    """SNMP Counter64: wraps at 2**64."""

    bits = 64


class Gauge32(int):
    """SNMP Gauge32 / Unsigned32."""


class TimeTicks(int):
    """SNMP TimeTicks: hundredths of a second."""


class IpAddress(str):
    """SNMP IpAddress, as dotted quad."""


class Opaque(bytes):
    """SNMP Opaque (kept as raw bytes)."""


class Absent:
    """A varbind that carries no value (noSuchObject, noSuchInstance, endOfMibView)."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


NO_SUCH_OBJECT = Absent("noSuchObject")
NO_SUCH_INSTANCE = Absent("noSuchInstance")
END_OF_MIB_VIEW = Absent("endOfMibView")

Value = int | bytes | str | tuple | Absent


def text_of(raw: bytes) -> str:
    """Octets as text when they are printable UTF-8, else ``0x`` + hex (as pysnmp prints them)."""
    try:
        decoded = raw.decode("utf-8")
    except UnicodeDecodeError:
        return "0x" + raw.hex()
    if decoded.isprintable():
        return decoded
    return "0x" + raw.hex()


def field_value(val: Value) -> FieldValue | None:
    """The sample field for one SNMP value; None for an absent one."""
    if isinstance(val, Absent):
        return None
    if isinstance(val, bytes):
        return text_of(val)
    if isinstance(val, tuple):
        return ".".join(map(str, val))
    if isinstance(val, str):
        return str(val)
    return int(val)


def oid_text(oid: Oid) -> str:
    """Dotted text of an OID."""
    return ".".join(map(str, oid))
