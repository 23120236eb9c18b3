"""Pytest fixtures of the truth harness: a runner that always stops what it started."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.functional.truth.checker import Report
from tests.functional.truth.harness import RunConfig, TruthRun
from tests.functional.truth.schedule import Timing

TruthRunner = Callable[..., Report]


@pytest.fixture()
def truth_runner() -> Iterator[TruthRunner]:
    """``run(seeds, communes, window_s, tail_s=None, timing=Timing())`` → Report.

    Every agent, the SMTP server and the service of every run are stopped when
    the test ends, whatever happened (the run also stops them itself). A run's
    work directory (service log and database, ``truth-record.json`` for
    ``python -m bench.truth --rejudge``) is kept under ``/tmp/trucban-truth-*``
    when the run found anything or failed, so the evidence outlives pytest's
    temp-dir rotation; otherwise it is removed.
    """
    runs: list[tuple[TruthRun, list[bool]]] = []

    def run(seeds: list[int], communes: int, window_s: float, tail_s: float | None = None,
            timing: Timing | None = None) -> Report:
        workdir = Path(tempfile.mkdtemp(prefix="trucban-truth-"))
        config = RunConfig(seeds=list(seeds), communes=communes, window_s=window_s, workdir=workdir,
                           timing=timing or Timing(), tail_s=tail_s)
        truth, keep = TruthRun(config), [True]
        runs.append((truth, keep))
        report = truth.run()
        keep[0] = bool(report.false or report.missed or report.late)
        return report

    try:
        yield run
    finally:
        for truth, keep in runs:
            truth.close()
            if not keep[0]:
                shutil.rmtree(truth.config.workdir, ignore_errors=True)
