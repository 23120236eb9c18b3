"""SNMP collector: one GETBULK per device where it can, on the fast or the pysnmp engine.

Scalars ride as GETBULK non-repeaters, table columns as repeaters; a table
longer than asked for is continued with more GETBULKs, and the next poll asks
for exactly the rows seen last time plus one, so a healthy device costs one
request. SNMPv1 uses GET + GETNEXT. sysUpTime rides along in every request so
counter rates know about reboots. The profile comes from the inventory, the
device's sysObjectID (learned on the first answer) or its role.

Engines: ``auto``/``fast`` use the BER fast path for v1/v2c and pysnmp for v3;
``pysnmp`` uses pysnmp for everything. Both give identical samples.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping
from typing import Any

from collectors.base import PollResult
from collectors.snmp.decode import decode
from collectors.snmp.engine import Response, SnmpEngine, Target
from collectors.snmp.fast import FastEngine
from collectors.snmp.profile import Profile, load_profiles, profile_for
from collectors.snmp.pysnmp_engine import PysnmpEngine
from collectors.snmp.rates import RateTracker
from collectors.snmp.values import Absent, Oid, Value
from common.errors import CollectorError, DeviceProtocolError
from inventory.model import Device

log = logging.getLogger(__name__)
MAX_BULK_ROUNDS = 64
MAX_ADAPTIVE_REPETITIONS = 60
SYS_UPTIME: Oid = (1, 3, 6, 1, 2, 1, 1, 3, 0)
SYS_OBJECT_ID: Oid = (1, 3, 6, 1, 2, 1, 1, 2, 0)
NO_SUCH_NAME = 2
ENGINES = ("auto", "fast", "pysnmp")


class SnmpCollector:
    """Polls devices over SNMP v1/v2c/v3 according to their profile."""

    name = "snmp"

    def __init__(self, credentials: Mapping[str, object], profiles: dict[str, Profile] | None = None,
                 classes: Iterable[str] | None = None, engine: str = "auto") -> None:
        """``classes`` limits polls to those poll classes of the profiles (None: all)."""
        if engine not in ENGINES:
            raise ValueError(f"unknown SNMP engine {engine!r}; expected one of {', '.join(ENGINES)}")
        self._credentials = credentials
        self._profiles = profiles if profiles is not None else load_profiles()
        self._classes = frozenset(classes) if classes is not None else None
        self._engine_choice = engine
        self._fast = FastEngine()
        self._pysnmp: PysnmpEngine | None = None
        self._targets: dict[str, Target] = {}
        self._sys_oid: dict[str, Oid] = {}
        self._rows: dict[tuple[str, str], int] = {}
        self.rates = RateTracker()

    async def poll(self, device: Device, tags: dict[str, str]) -> PollResult:
        """Poll one device; failures come back inside the result, never raised."""
        ts = int(time.time())
        start = time.perf_counter()
        result = PollResult(device=device.id, ok=False, ts=ts)
        try:
            target = self._target(device)
            profile = profile_for(device, self._profiles, self._sys_oid.get(device.id)).part(self._classes)
            values = await self._fetch(target, profile)
            samples = decode(profile, values, tags, ts)
            uptime = values.get(SYS_UPTIME)
            result.samples = self.rates.apply(device.id, uptime if isinstance(uptime, int) else None,
                                              samples, time.monotonic(), profile.tables)
            oid = values.get(SYS_OBJECT_ID)
            if isinstance(oid, tuple) and oid:
                self._sys_oid[device.id] = oid
            result.ok = True
        except CollectorError as exc:
            result.error, result.error_kind = str(exc), exc.kind
        except KeyError as exc:  # unknown profile / credential: the message names the device
            result.error, result.error_kind = str(exc.args[0]), "protocol"
        except Exception as exc:  # a bug or odd device must not abort the cycle
            log.exception("internal error polling %s", device.id)
            result.error, result.error_kind = f"{device.id}: internal error: {exc!r}", "internal"
        result.duration_ms = (time.perf_counter() - start) * 1000
        return result

    async def close(self) -> None:
        """Close the engines' sockets."""
        self._fast.close()
        if self._pysnmp is not None:
            self._pysnmp.close()

    def engine_for(self, target: Target) -> SnmpEngine:
        """The engine that polls ``target``."""
        if self._engine_choice != "pysnmp" and self._fast.supports(target):
            return self._fast
        if self._pysnmp is None:
            self._pysnmp = PysnmpEngine()
        return self._pysnmp

    def _target(self, device: Device) -> Target:
        target = self._targets.get(device.id)
        if target is None:
            if device.snmp is None:
                raise DeviceProtocolError(device.id, "device has no SNMP access configured")
            name = device.snmp.credential
            if name not in self._credentials:
                raise DeviceProtocolError(device.id, f"unknown credential {name!r}")
            target = Target(device.id, str(device.address), device.snmp.port, name, self._credentials[name],
                            device.snmp.timeout_s, device.snmp.retries)
            self._targets[device.id] = target
        return target

    async def _fetch(self, target: Target, profile: Profile) -> dict[Oid, Value]:
        engine = self.engine_for(target)
        scalars = [oid for fields in profile.scalars.values() for oid in fields.values()]
        extra = [SYS_UPTIME] + ([SYS_OBJECT_ID] if target.device not in self._sys_oid else [])
        scalars += [oid for oid in extra if oid not in scalars]
        columns = [oid for table in profile.tables for oid in table.columns.values()]
        if target.version == 0:
            return await self._fetch_v1(engine, target, scalars, columns)
        values: dict[Oid, Value] = {}
        pending = {col: col for col in columns}  # column → OID to continue the walk from
        row_key = (target.device, profile.name)
        reps = min(self._rows.get(row_key, profile.max_repetitions - 1) + 1, MAX_ADAPTIVE_REPETITIONS)
        # a non-repeater is a GETNEXT: ask for x (the object) to get x.0 (its instance)
        non_rep, rows = [oid[:-1] for oid in scalars], 0
        for _ in range(MAX_BULK_ROUNDS):
            if not (non_rep or pending):
                break
            answer = _checked(target, await engine.bulk(target, non_rep, list(pending.values()), reps))
            for (oid, val), want in zip(answer.binds[: len(non_rep)], scalars, strict=False):
                if oid == want:
                    values[oid] = val
            before = len(values)
            pending = _walk_rows(pending, answer.binds[len(non_rep):], values)
            rows += (len(values) - before) // max(1, len(columns))
            non_rep = []
        if columns:
            self._rows[row_key] = rows
        return values

    async def _fetch_v1(self, engine: SnmpEngine, target: Target, scalars: list[Oid],
                        columns: list[Oid]) -> dict[Oid, Value]:
        values: dict[Oid, Value] = {}
        asked = list(scalars)
        while asked:  # v1 answers noSuchName for a missing object: drop it and ask again
            answer = await engine.get(target, asked)
            if answer.error_status == NO_SUCH_NAME and 0 < answer.error_index <= len(asked):
                del asked[answer.error_index - 1]
                continue
            values.update(_checked(target, answer).binds)
            break
        pending = {col: col for col in columns}
        for _ in range(100_000):
            if not pending:
                break
            answer = await engine.next(target, list(pending.values()))
            if answer.error_status == NO_SUCH_NAME:  # end of the MIB view in v1
                break
            pending = _walk_rows(pending, _checked(target, answer).binds, values)
        return values


def _checked(target: Target, answer: Response) -> Response:
    if answer.error_status:
        raise DeviceProtocolError(target.device, f"SNMP error-status {answer.error_status} "
                                                 f"at index {answer.error_index}")
    return answer


def _walk_rows(pending: dict[Oid, Oid], rows: list[tuple[Oid, Any]], values: dict[Oid, Value]
               ) -> dict[Oid, Oid]:
    """Keep the rows inside their column; return the columns whose walk goes on."""
    cols = list(pending)
    width = len(cols)
    last: dict[Oid, Oid | None] = {}
    for i, (oid, val) in enumerate(rows):
        col = cols[i % width]
        inside = oid[: len(col)] == col and not isinstance(val, Absent)
        if inside:
            values[oid] = val
        last[col] = oid if inside and oid > pending[col] else None
    return {col: oid for col, oid in last.items() if oid is not None}
