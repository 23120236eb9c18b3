"""Is an SNMP agent answering yet? One GET through the collectors' own SNMP engine.

Why: the lab, and the test peers built on it, wait for a freshly started agent
before anything polls it. They ask with :class:`collectors.snmp.fast.FastEngine`,
the v1/v2c engine the poller itself uses, so the lab keeps no SNMP client of
its own. :func:`run_blocking` lets synchronous start-up code call it, even
from inside a running event loop.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from pydantic import SecretStr

from collectors.snmp.engine import Target
from collectors.snmp.fast import FastEngine
from collectors.snmp.values import Value
from common.errors import CollectorError
from inventory.credentials import SnmpCommunity

T = TypeVar("T")


async def snmp_get(host: str, port: int, community: str, oid: str, timeout: float,
                   retries: int) -> Value | None:
    """SNMPv2c GET of one OID (dotted text) over UDP or UDP6: the value, or None on timeout/error."""
    engine = FastEngine()
    target = Target(f"probe:{host}:{port}", host, port, "lab-probe",
                    SnmpCommunity(kind="snmp_v2c", community=SecretStr(community)),
                    timeout_s=timeout, retries=retries)
    try:
        answer = await engine.get(target, [tuple(int(arc) for arc in oid.strip(".").split("."))])
    except CollectorError:
        return None
    finally:
        engine.close()
    if answer.error_status or not answer.binds:
        return None
    return answer.binds[0][1]


def run_blocking(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion, even when called from inside an event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    result: list[T] = []
    error: list[BaseException] = []

    def target() -> None:
        try:
            result.append(asyncio.run(coro))
        except BaseException as exc:  # re-raised in the caller's thread
            error.append(exc)

    thread = threading.Thread(target=target, name="lab-probe")
    thread.start()
    thread.join()
    if error:
        raise error[0]
    return result[0]
