"""Pytest fixtures of the truth harness: a runner that always stops what it started."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.functional.truth.checker import Report
from tests.functional.truth.harness import RunConfig, TruthRun
from tests.functional.truth.schedule import Timing

TruthRunner = Callable[..., Report]


@pytest.fixture()
def truth_runner(tmp_path: Path) -> Iterator[TruthRunner]:
    """``run(seeds, communes, window_s, tail_s=None, timing=Timing())`` → Report.

    Every agent, the SMTP server and the service of every run are stopped when
    the test ends, whatever happened (the run also stops them itself).
    """
    runs: list[TruthRun] = []

    def run(seeds: list[int], communes: int, window_s: float, tail_s: float | None = None,
            timing: Timing | None = None) -> Report:
        config = RunConfig(seeds=list(seeds), communes=communes, window_s=window_s,
                           workdir=tmp_path / f"run{len(runs)}", timing=timing or Timing(), tail_s=tail_s)
        truth = TruthRun(config)
        runs.append(truth)
        return truth.run()

    try:
        yield run
    finally:
        for truth in runs:
            truth.close()
