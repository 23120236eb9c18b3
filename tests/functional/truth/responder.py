"""Start snmpsim's command responder for one truth-harness agent (run as a script, not imported).

snmpsim 1.2.2 imports ``pysmi`` only for a version banner but does not depend
on it, so the stock ``snmpsim-command-responder`` dies on a clean venv; this
stub-and-run wrapper is the whole reason the file exists. Usage:
``python responder.py <snmpsim-command-responder options>``.
"""

from __future__ import annotations

import importlib.util
import sys
import types


def main() -> int:
    """Stub ``pysmi`` when it is missing, then run snmpsim's responder with our argv."""
    if importlib.util.find_spec("pysmi") is None:
        stub = types.ModuleType("pysmi")
        stub.__version__ = "(not installed)"  # type: ignore[attr-defined]
        sys.modules["pysmi"] = stub
    from snmpsim.commands import responder

    sys.argv = ["snmpsim-command-responder", *sys.argv[1:]]
    return int(responder.main() or 0)


if __name__ == "__main__":
    sys.exit(main())
