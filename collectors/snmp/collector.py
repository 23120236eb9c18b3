"""SNMP collector on pysnmp 7 asyncio: one GETBULK per device where it can.

Scalars ride as GETBULK non-repeaters, table columns as repeaters; a table
longer than ``max_repetitions`` is continued with more GETBULKs. No MIB lookups
on the hot path; one engine and one transport per target are reused.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from pysnmp.hlapi.v3arch.asyncio import (
    CommunityData,
    ContextData,
    ObjectIdentity,
    ObjectType,
    SnmpEngine,
    Udp6TransportTarget,
    UdpTransportTarget,
    bulk_cmd,
    get_cmd,
    next_cmd,
)

from collectors.base import PollResult
from collectors.snmp.auth import snmp_auth
from collectors.snmp.decode import decode
from collectors.snmp.profile import Oid, Profile, load_profiles, profile_for
from inventory.model import Device
from trucban.errors import CollectorError, DeviceAuthError, DeviceProtocolError, PollTimeout

log = logging.getLogger(__name__)
MAX_BULK_ROUNDS = 64
AUTH_FAILURES = ("unknownusername", "wrongdigest", "decryptionerror", "unknownsecurityname",
                 "unsupportedseclevel", "authentication")


class SnmpCollector:
    """Polls devices over SNMP v1/v2c/v3 according to their profile."""

    name = "snmp"

    def __init__(self, credentials: dict[str, object], profiles: dict[str, Profile] | None = None) -> None:
        self._credentials = credentials
        self._profiles = profiles if profiles is not None else load_profiles()
        self._engine = SnmpEngine()
        self._auth: dict[str, Any] = {}
        self._targets: dict[tuple, Any] = {}

    async def poll(self, device: Device, tags: dict[str, str]) -> PollResult:
        """Poll one device; failures come back inside the result, never raised."""
        ts = int(time.time())
        start = time.perf_counter()
        result = PollResult(device=device.id, ok=False, ts=ts)
        try:
            profile = profile_for(device, self._profiles)
            values = await self._fetch(device, profile)
            result.samples = decode(profile, values, tags, ts)
            result.ok = True
        except CollectorError as exc:
            result.error = str(exc)
            result.error_kind = _kind(exc)
        except Exception as exc:  # a bug or odd device must not abort the cycle
            log.exception("internal error polling %s", device.id)
            result.error, result.error_kind = f"{device.id}: internal error: {exc!r}", "internal"
        result.duration_ms = (time.perf_counter() - start) * 1000
        return result

    async def close(self) -> None:
        """Close the engine's transports."""
        self._engine.close_dispatcher()

    async def _fetch(self, device: Device, profile: Profile) -> dict[Oid, Any]:
        auth, target = await self._session(device)
        scalars = [oid for fields in profile.scalars.values() for oid in fields.values()]
        columns = [oid for table in profile.tables for oid in table.columns.values()]
        if isinstance(auth, CommunityData) and auth.message_processing_model == 0:
            return await self._fetch_v1(device, auth, target, scalars, columns)
        values: dict[Oid, Any] = {}
        pending = {col: col for col in columns}  # column → OID to continue the walk from
        non_rep = scalars
        for _ in range(MAX_BULK_ROUNDS):
            if not (non_rep or pending):
                break
            binds = await self._call(device, bulk_cmd, auth, target, len(non_rep),
                                     profile.max_repetitions, *non_rep, *pending.values())
            values.update(binds[: len(non_rep)])
            pending = _walk_rows(pending, binds[len(non_rep):], values)
            non_rep = []
        return values

    async def _fetch_v1(self, device: Device, auth: Any, target: Any, scalars: list[Oid],
                        columns: list[Oid]) -> dict[Oid, Any]:
        values = dict(await self._call(device, get_cmd, auth, target, *scalars)) if scalars else {}
        for col in columns:
            cursor = col
            while True:
                (oid, val), = await self._call(device, next_cmd, auth, target, cursor)
                if oid[: len(col)] != col:
                    break
                values[oid] = val
                cursor = oid
        return values

    async def _call(self, device: Device, fn: Any, auth: Any, target: Any, *args: Any) -> list:
        *numbers, oids = _split(args)
        err_ind, err_status, err_index, binds = await fn(
            self._engine, auth, target, ContextData(), *numbers,
            *(ObjectType(ObjectIdentity(o)) for o in oids), lookupMib=False,
        )
        if err_ind:
            text = str(err_ind)
            if type(err_ind).__name__ == "RequestTimedOut" or "timed out" in text.lower():
                raise PollTimeout(device.id, f"no SNMP answer from {device.address} (timeout)")
            if any(h in text.lower().replace(" ", "") for h in AUTH_FAILURES):
                raise DeviceAuthError(device.id, f"SNMP authentication failed: {text}")
            raise DeviceProtocolError(device.id, f"SNMP error: {text}")
        if err_status and int(err_status):
            raise DeviceProtocolError(device.id, f"SNMP error-status {err_status.prettyPrint()} "
                                                 f"at index {int(err_index)}")
        return [(tuple(vb[0]), vb[1]) for vb in binds]

    async def _session(self, device: Device) -> tuple[Any, Any]:
        if device.snmp is None:
            raise DeviceProtocolError(device.id, "device has no SNMP access configured")
        name = device.snmp.credential
        if name not in self._auth:
            self._auth[name] = snmp_auth(name, self._credentials[name])
        key = (str(device.address), device.snmp.port, device.snmp.timeout_s, device.snmp.retries)
        if key not in self._targets:
            cls = Udp6TransportTarget if device.address.version == 6 else UdpTransportTarget
            self._targets[key] = await cls.create(
                (str(device.address), device.snmp.port),
                timeout=device.snmp.timeout_s, retries=device.snmp.retries,
            )
        return self._auth[name], self._targets[key]


def _split(args: tuple) -> list:
    """(ints…, oids…) → [ints…, [oids]] for the pysnmp call signature."""
    numbers = [a for a in args if isinstance(a, int)]
    oids = [a for a in args if not isinstance(a, int)]
    return [*numbers, oids]


def _walk_rows(
    pending: dict[Oid, Oid], rows: list[tuple[Oid, Any]], values: dict[Oid, Any]
) -> dict[Oid, Oid]:
    """Keep the rows inside their column; return the columns whose walk goes on."""
    cols = list(pending)
    last: dict[Oid, Oid | None] = {}
    for i, (oid, val) in enumerate(rows):
        col = cols[i % len(cols)]
        inside = oid[: len(col)] == col and type(val).__name__ != "EndOfMibView"
        if inside:
            values[oid] = val
        last[col] = oid if inside and oid > pending[col] else None
    return {col: oid for col, oid in last.items() if oid is not None}


def _kind(exc: CollectorError) -> str:
    if isinstance(exc, PollTimeout):
        return "timeout"
    if isinstance(exc, DeviceAuthError):
        return "auth"
    return "protocol"
