"""Child processes of the lab (simulators, test servers): tied to their parent, stopped politely.

A lab child runs in its own session (a Ctrl-C in the terminal reaches the
parent only, which stops its children in order). The price is that a parent
killed with SIGKILL would leave them running, holding the lab's ports; a child
started with :data:`PARENT_ENV` set therefore asks the kernel for SIGTERM when
its parent dies (:func:`die_with_parent`).
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys

PARENT_ENV = "TRUCBAN_LAB_PARENT_PID"
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def tied_env(env: dict[str, str] | None = None) -> dict[str, str]:
    """``env`` (default: this process's) plus the marker that makes a child die with this process."""
    return dict(os.environ if env is None else env, **{PARENT_ENV: str(os.getpid())})


def die_with_parent() -> None:
    """In a child: get SIGTERM when the parent named in :data:`PARENT_ENV` dies (Linux).

    Does nothing without the variable or off Linux. If the parent is already
    gone (it died before this ran), exit at once.
    """
    parent = os.environ.get(PARENT_ENV)
    if not parent or not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
    except (OSError, AttributeError):  # no prctl here: the parent still stops us on a clean exit
        return
    if os.getppid() != int(parent):
        sys.exit(0)


def stop_process(proc: subprocess.Popen | None, timeout: float = 5.0) -> None:
    """SIGTERM, then SIGKILL if it has not exited after ``timeout`` seconds; None or exited is fine."""
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=timeout)
