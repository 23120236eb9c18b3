"""NETCONF collector on ncclient: one session per device, reused between polls.

ncclient is synchronous, so each device's calls run on a worker thread of the
collector's own pool (never the event loop's default pool). A session that
fails is closed and re-opened once within the same poll; a device problem
comes back as a :class:`PollResult` with a named ``error_kind``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import ncclient.transport.session as nc_session
from lxml import etree
from ncclient.devices.default import DefaultDeviceHandler
from ncclient.operations import RPCError, TimeoutExpiredError

from collectors.base import PollResult
from collectors.netconf.decode import DECODERS
from collectors.netconf.errors import (
    MalformedReply,
    NetconfRpcError,
    NetconfTimeout,
    NetconfUnreachable,
)
from collectors.netconf.session import open_netconf
from collectors.netconf.vendors import NetconfFilter, load_vendors
from common.errors import CollectorError
from inventory.model import Device
from store.base import Sample

log = logging.getLogger(__name__)


class _Malformed(Exception):
    """Raised inside ncclient when a message from the device does not parse as XML."""


class _StrictHandler(DefaultDeviceHandler):
    """Default device handler that turns an unparseable message into an RPC error, not a hang."""

    def handle_raw_dispatch(self, raw: str) -> Any:
        return _Malformed(f"reply is not well-formed XML: {raw[:120]!r}")


@dataclass
class _Session:
    mgr: Any
    capabilities: list[str]
    opened: float = field(default_factory=time.monotonic)
    lock: threading.Lock = field(default_factory=threading.Lock)


class NetconfCollector:
    """Polls devices with a ``netconf`` access block over NETCONF/SSH."""

    name = "netconf"

    def __init__(self, credentials: dict[str, Any],
                 vendors: dict[str, tuple[NetconfFilter, ...]] | None = None,
                 max_sessions: int = 64, tick_s: float = 0.01, known_hosts: str | None = None) -> None:
        self._credentials = credentials
        self._vendors = vendors if vendors is not None else load_vendors()
        self._pool = ThreadPoolExecutor(max_workers=max_sessions, thread_name_prefix="netconf")
        self._sessions: dict[str, _Session] = {}
        self._known_hosts = known_hosts
        self.reconnects: dict[str, int] = {}
        # ncclient polls its send queue every TICK seconds; the default 0.1 s adds up to 100 ms per RPC.
        nc_session.TICK = min(nc_session.TICK, tick_s)

    async def poll(self, device: Device, tags: dict[str, str]) -> PollResult:
        """Poll one device; failures come back inside the result, never raised."""
        ts = int(time.time())
        start = time.perf_counter()
        result = PollResult(device=device.id, ok=False, ts=ts)
        try:
            if device.netconf is None:
                raise NetconfUnreachable(device.id, "device has no NETCONF access configured")
            loop = asyncio.get_running_loop()
            budget = device.netconf.timeout_s * 3 + 5
            result.samples = await asyncio.wait_for(
                loop.run_in_executor(self._pool, self._collect, device, tags, ts), budget)
            result.ok = True
        except CollectorError as exc:
            result.error, result.error_kind = str(exc), exc.kind
        except TimeoutError:
            result.error = f"{device.id}: no NETCONF answer within the poll budget"
            result.error_kind = "timeout"
        except Exception as exc:  # a bug or odd device must not abort the cycle
            log.exception("internal error polling %s over NETCONF", device.id)
            result.error, result.error_kind = f"{device.id}: internal error: {exc!r}", "internal"
        result.duration_ms = (time.perf_counter() - start) * 1000
        return result

    async def close(self) -> None:
        """Close every session and the worker pool."""
        for dev_id in list(self._sessions):
            self._drop(dev_id)
        self._pool.shutdown(wait=False, cancel_futures=True)

    # -- worker thread side ------------------------------------------------------------------

    def _collect(self, device: Device, tags: dict[str, str], ts: int) -> list[Sample]:
        for attempt in (1, 2):
            fresh = device.id not in self._sessions
            session = self._session(device)
            try:
                with session.lock:
                    return self._gets(device, session, tags, ts)
            except MalformedReply:
                self._drop(device.id)  # the stream may be out of step; start clean next poll
                raise
            except (NetconfUnreachable, NetconfTimeout):
                self._drop(device.id)
                if fresh or attempt == 2:  # a brand-new session failing is the device, not staleness
                    raise
                log.info("%s: NETCONF session broke, re-establishing", device.id)
        raise AssertionError("unreachable")

    def _gets(self, device: Device, session: _Session, tags: dict[str, str], ts: int) -> list[Sample]:
        assert device.netconf is not None
        filters = self._vendors.get(device.netconf.vendor)
        if filters is None:
            raise NetconfRpcError(device.id, f"unknown NETCONF vendor {device.netconf.vendor!r}")
        samples: list[Sample] = []
        used = [f for f in filters if f.supported_by(session.capabilities)]
        for flt in used:
            try:
                reply = session.mgr.get(filter=(flt.kind, flt.text))
            except RPCError as exc:
                raise NetconfRpcError(device.id, f"rpc-error on {flt.decoder} get: tag {exc.tag}, "
                                                 f"severity {exc.severity}: {exc.message or exc}") from None
            except (_Malformed, etree.XMLSyntaxError) as exc:
                raise MalformedReply(device.id,
                                     f"{flt.decoder} answer is not well-formed XML: {exc}") from None
            except TimeoutExpiredError:
                raise NetconfTimeout(device.id, f"no answer to {flt.decoder} get within "
                                                f"{device.netconf.timeout_s}s") from None
            except Exception as exc:  # transport gone: ssh reset, session closed
                raise NetconfUnreachable(device.id, f"NETCONF session lost: {type(exc).__name__}") from None
            try:
                root = etree.fromstring(reply.data_xml.encode()) if reply.data_ele is None else reply.data_ele
            except etree.XMLSyntaxError as exc:
                raise MalformedReply(device.id, f"{flt.decoder} answer is not XML: {exc}") from None
            samples += DECODERS[flt.decoder](root, tags, ts)
        samples.append(Sample("netconf_session", tags, {
            "capabilities": len(session.capabilities), "filters": len(used),
            "session_age_s": round(time.monotonic() - session.opened, 1),
            "reconnects": self.reconnects.get(device.id, 0)}, ts))
        return samples

    def _session(self, device: Device) -> _Session:
        existing = self._sessions.get(device.id)
        if existing is not None and existing.mgr.connected:
            return existing
        if existing is not None:
            self._drop(device.id)
        assert device.netconf is not None
        mgr = open_netconf(device, self._credentials, timeout_s=device.netconf.timeout_s,
                           hostkey_verify=self._known_hosts is not None,
                           device_params={"handler": _StrictHandler})
        session = _Session(mgr, list(mgr.server_capabilities))
        self.reconnects[device.id] = self.reconnects.get(device.id, -1) + 1
        self._sessions[device.id] = session
        return session

    def _drop(self, dev_id: str) -> None:
        session = self._sessions.pop(dev_id, None)
        if session is None:
            return
        try:
            session.mgr.close_session()
        except Exception:  # already gone; closing is best effort
            with contextlib.suppress(Exception):
                session.mgr._session.close()
