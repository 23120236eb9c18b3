"""Start snmpsim's command responder with the two fixes the Trucban lab needs.

Why a wrapper instead of the stock ``snmpsim-command-responder`` script:

1. ``snmpsim.datafile.DataFile.max_queue_entries = 31`` caps how many data
   files (agents) stay open; past that every request to another agent closes
   the oldest file and re-opens (and re-checks the index of) its own, which
   collapses round-robin polling over hundreds of agents. We raise the file
   descriptor limit to its hard maximum and lift the cap to what it allows.
2. A ``silent`` device makes the variation module raise snmpsim's
   ``NoDataNotification``. With pysnmp 7 snmpsim's own handler for it is
   never called (it overrides the old camelCase method name), so the
   exception would escape pysnmp's dispatcher. We catch it in
   ``CommandResponderBase.process_pdu`` and drop the request: no response is
   sent and the manager times out, while other agents keep answering.

3. snmpsim 1.2.2 imports ``pysmi`` (only for its version banner) but declares
   it only in its ``dev`` extra, so the stock script dies with
   ``ModuleNotFoundError: pysmi`` on a clean install. We stub it if missing.

Run as ``python lab/snmpsim_main.py <snmpsim-command-responder args>``.
"""

from __future__ import annotations

import resource
import sys
from typing import Any

FDS_PER_OPEN_FILE = 2  # text file + index (dbm.dumb opens its .dat per lookup)
FD_RESERVE = 256  # sockets, logs, index builds, Python itself


def stub_missing_pysmi() -> None:
    """Provide a placeholder ``pysmi`` module when it is not installed."""
    import importlib.util
    import types

    if importlib.util.find_spec("pysmi") is None:
        stub = types.ModuleType("pysmi")
        stub.__version__ = "(not installed)"  # type: ignore[attr-defined]
        sys.modules["pysmi"] = stub


def raise_nofile_limit() -> int:
    """Raise RLIMIT_NOFILE's soft limit to the hard limit; return the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(soft, 1_048_576)
    if target > soft:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    return soft


def lift_open_file_cap(nofile: int) -> int:
    """Let snmpsim keep as many data files open as the fd limit allows."""
    from snmpsim import datafile

    cap = max(31, (nofile - FD_RESERVE) // FDS_PER_OPEN_FILE)
    datafile.DataFile.max_queue_entries = cap
    return cap


def drop_silenced_requests() -> None:
    """Make a NoDataNotification from a variation module drop the request quietly."""
    from pysnmp.entity.rfc3413 import cmdrsp
    from snmpsim.error import NoDataNotification

    base = cmdrsp.CommandResponderBase
    if getattr(base.process_pdu, "_trucban_patched", False):
        return
    original = base.process_pdu

    def process_pdu(self: Any, snmp_engine: Any, *args: Any) -> None:
        try:
            original(self, snmp_engine, *args)
        except NoDataNotification:
            # No response is sent; rfc3412 clears the execution context after us.
            self.release_state_information(args[-1])  # stateReference

    process_pdu._trucban_patched = True  # type: ignore[attr-defined]
    base.process_pdu = process_pdu  # type: ignore[method-assign]


def main(argv: list[str] | None = None) -> int:
    """Apply the patches, then run snmpsim's command responder with ``argv``."""
    from lab.processes import die_with_parent

    die_with_parent()  # a lab started by ``trucban run`` never outlives it, even after kill -9
    stub_missing_pysmi()
    nofile = raise_nofile_limit()
    cap = lift_open_file_cap(nofile)
    drop_silenced_requests()
    from snmpsim.commands import responder

    sys.argv = ["snmpsim-command-responder", *(sys.argv[1:] if argv is None else argv)]
    print(f"trucban lab: RLIMIT_NOFILE={nofile} max_open_data_files={cap}", flush=True)
    return int(responder.main() or 0)


if __name__ == "__main__":
    sys.exit(main())
