"""Many pings per process: requests gathered for a moment go to one ``fping`` run.

Why: icmplib opens a socket and runs an asyncio receive loop per ping; pinging
a national inventory every minute that way took a quarter of a node's CPU and
half of a scale-out poller's. fping (the C tool LibreNMS and Smokeping use)
pings a whole batch from one process. Answers are read back into icmplib's own
:class:`icmplib.Host`, so every statistic (loss, min/avg/max, jitter) is
computed exactly as the icmplib engine computes it.
"""

from __future__ import annotations

import asyncio
import logging
import re
import shutil
from dataclasses import dataclass

from icmplib import Host

log = logging.getLogger(__name__)
BATCH_S = 0.1  # requests arriving within this window share one fping run
LINE = re.compile(r"^(\S+)\s+:\s+((?:[-\d.]+\s*)+)$")  # "-C" summary: "127.0.0.1 : 0.04 - 0.05"


class FpingUnavailable(OSError):
    """fping is missing or may not open ICMP sockets here; the icmplib engine takes over."""


def fping_binary() -> str | None:
    """Path of the ``fping`` binary, if installed."""
    return shutil.which("fping")


@dataclass(frozen=True, slots=True)
class FpingOptions:
    """What each run sends: ``count`` echo requests per host, ``interval_s`` apart, each waiting
    at most ``timeout_s``."""

    count: int = 3
    interval_s: float = 0.2
    timeout_s: float = 1.0

    def argv(self, binary: str) -> list[str]:
        """The command line before the addresses (quiet, per-probe summary, 1 ms between packets)."""
        return [binary, "-q", "-C", str(self.count), "-p", str(max(10, round(self.interval_s * 1000))),
                "-t", str(max(10, round(self.timeout_s * 1000))), "-i", "1", "-r", "0"]


def parse(output: str, count: int) -> dict[str, Host]:
    """Address → icmplib Host from fping's ``-C`` summary lines (``-`` is a lost probe)."""
    hosts: dict[str, Host] = {}
    for line in output.splitlines():
        match = LINE.match(line.strip())
        if match is None:
            continue
        rtts = [float(v) for v in match.group(2).split() if v != "-"]
        hosts[match.group(1)] = Host(match.group(1), count, rtts)
    return hosts


class FpingBatcher:
    """Gathers ping requests for ``BATCH_S`` and answers them all from one fping run."""

    def __init__(self, binary: str, options: FpingOptions) -> None:
        """Nothing runs until the first :meth:`ping`."""
        self.binary = binary
        self.options = options
        self._waiting: dict[str, asyncio.Future[Host]] = {}  # address → its answer (shared)
        self._flush: asyncio.TimerHandle | None = None
        self._runs: set[asyncio.Task[None]] = set()

    async def ping(self, address: str) -> Host:
        """The address's answers in the next run (one request per address and run)."""
        future = self._waiting.get(address)
        if future is None:
            future = self._waiting[address] = asyncio.get_running_loop().create_future()
        if self._flush is None:
            self._flush = asyncio.get_running_loop().call_later(BATCH_S, self._start)
        return await asyncio.shield(future)

    def _start(self) -> None:
        self._flush = None
        batch, self._waiting = self._waiting, {}
        task = asyncio.ensure_future(self._run(batch))
        self._runs.add(task)
        task.add_done_callback(self._runs.discard)

    async def _run(self, batch: dict[str, asyncio.Future[Host]]) -> None:
        try:
            hosts = await self._fping(list(batch))
        except Exception as exc:  # every waiter learns why, none waits forever
            for future in batch.values():
                if not future.done():
                    future.set_exception(exc)
            return
        for address, future in batch.items():
            if not future.done():
                future.set_result(hosts.get(address) or Host(address, self.options.count, []))

    async def _fping(self, addresses: list[str]) -> dict[str, Host]:
        proc = await asyncio.create_subprocess_exec(
            *self.options.argv(self.binary), *addresses, stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
        _, err = await proc.communicate()
        text = err.decode(errors="replace")
        hosts = parse(text, self.options.count)
        # 0: all answered, 1: some did not; 2 (an address not found) still reports the others
        if proc.returncode not in (0, 1, 2) or (not hosts and proc.returncode != 1):
            raise FpingUnavailable(f"fping exited {proc.returncode}: {text.strip()[:200]}")
        return hosts

    async def close(self) -> None:
        """Ping the batch still gathering now and wait for every run under way (no waiter is left)."""
        if self._flush is not None:
            self._flush.cancel()
            self._start()
        if self._runs:
            await asyncio.gather(*self._runs, return_exceptions=True)
