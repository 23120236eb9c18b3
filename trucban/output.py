"""Where the command line's output goes: data on stdout, everything else on stderr.

Why: ``trucban typhoon status | jq`` must receive the data and nothing else,
while a person at a terminal still sees messages, progress bars and logs.
Data leaves through :func:`emit` and :func:`emit_json` (plain text, no colour
codes, no wrapping) or the :data:`out` console (tables); messages, progress
(:class:`SetupProgress`) and log records go to stderr (:data:`err`). Errors
are one line there (:func:`fail`), never a traceback.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

out = Console()  # data meant for a person (tables); scripts use --json
err = Console(stderr=True)  # messages, progress, errors
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
Update = Callable[[int, int], None]  # (done, total)


def emit(text: str) -> None:
    """One line of data on stdout, exactly as given."""
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def emit_json(data: Any) -> None:
    """``data`` as JSON on stdout (UTF-8, Vietnamese kept as is), for scripts and ``jq``."""
    emit(json.dumps(data, ensure_ascii=False, default=str, indent=2))


def say(text: str) -> None:
    """A message for the person at the terminal (stderr; rich markup allowed)."""
    err.print(text, soft_wrap=True)


def fail(message: str, code: int = 2) -> NoReturn:
    """Print ``message`` as one red line on stderr and exit with ``code`` (no traceback)."""
    err.print(f"[red]{escape(message)}[/red]", soft_wrap=True, highlight=False)
    raise typer.Exit(code)


class _CurrentStderr(logging.StreamHandler):  # type: ignore[type-arg]
    """A log handler writing to whatever ``sys.stderr`` is now.

    rich's live progress display swaps ``sys.stderr`` for a proxy that prints
    above the bar; a handler that kept the original stream would tear the bar.
    """

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


class _StoppingIsNotAnError(logging.Filter):
    """A job cancelled because Trucban is stopping is not an error: INFO, without a traceback.

    APScheduler logs every job that ends with an exception, and stopping the
    scheduler cancels the poll cycles still running, so a clean SIGTERM used to
    log three ``CancelledError`` tracebacks. The record becomes INFO and shows
    only where that level is on (APScheduler's is off by default).
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], asyncio.CancelledError):
            record.msg, record.args = f"{record.getMessage()} — cancelled: Trucban is stopping", ()
            record.exc_info, record.exc_text = None, None
            record.levelno, record.levelname = logging.INFO, "INFO"
            return logging.getLogger(record.name).isEnabledFor(logging.INFO)
        return True


def setup_logging(level: str) -> None:
    """Log records to stderr (through a progress bar if one shows), without shutdown tracebacks."""
    handler = _CurrentStderr()
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    handler.addFilter(_StoppingIsNotAnError())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # one line per job run is noise
    # The collectors turn every device failure into a poll result with its error_kind; the SSH and
    # NETCONF libraries' own logs add a line per RPC (INFO) and a traceback per refused login (ERROR).
    for name in ("ncclient", "paramiko", "netmiko"):
        logging.getLogger(name).setLevel(logging.CRITICAL)


class SetupProgress:
    """Progress of a long set-up: a rich bar per step on a terminal, one line per step otherwise.

    ``task(description)`` gives an ``update(done, total)`` callback for a step
    that can count; ``phase(description)`` wraps a step that cannot.
    """

    def __init__(self, console: Console = err) -> None:
        """Draw on ``console`` (stderr by default)."""
        self.console = console
        self._bar: Progress | None = None
        if console.is_terminal:
            self._bar = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                                 MofNCompleteColumn(), TimeElapsedColumn(), console=console)

    def __enter__(self) -> SetupProgress:
        """Show the bars."""
        if self._bar is not None:
            self._bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        """Leave the finished bars on screen."""
        if self._bar is not None:
            self._bar.stop()

    def task(self, description: str) -> Update:
        """A counting step; the returned callback may be called as often as the work likes."""
        started = time.monotonic()
        task_id: list[Any] = []
        finished: list[bool] = []

        def update(done: int, total: int) -> None:
            if finished:
                return
            if self._bar is not None:
                if not task_id:
                    task_id.append(self._bar.add_task(description, total=total))
                self._bar.update(task_id[0], completed=done, total=total)
            elif not task_id:
                task_id.append(None)
                self.console.print(f"{description}…", soft_wrap=True, highlight=False)
            if done >= total:
                finished.append(True)
                if self._bar is None:
                    took = time.monotonic() - started
                    self.console.print(f"✓ {description}: {done}/{total} ({took:.1f} s)", soft_wrap=True,
                                       highlight=False)

        return update

    @contextmanager
    def phase(self, description: str) -> Iterator[None]:
        """A step without a count: a spinner while it runs."""
        started = time.monotonic()
        if self._bar is None:
            self.console.print(f"{description}…", soft_wrap=True, highlight=False)
            yield
            self.console.print(f"✓ {description} ({time.monotonic() - started:.1f} s)", soft_wrap=True,
                               highlight=False)
            return
        task_id = self._bar.add_task(description, total=None)
        yield
        self._bar.update(task_id, total=1, completed=1)
