"""Batches the backend refuses as data, kept aside instead of blocking the queue.

A batch the backend refuses as data (:class:`StoreRejected`, e.g. a field
type conflict) would be refused again on every replay and block the spool for
ever; it goes to ``rejected.jsonl`` beside the segments, with the reason, so
nothing vanishes silently, and the queue moves on. The file is bounded.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

from store.base import StoreRejected

log = logging.getLogger(__name__)

REJECTED_FILE = "rejected.jsonl"
REJECTED_MAX_BYTES = 64 * 1024 * 1024


def keep_rejected(directory: Path, exc: StoreRejected) -> None:
    """Append the refused samples and the reason to ``directory/rejected.jsonl`` (while under its bound)."""
    path = directory / REJECTED_FILE
    try:
        if path.exists() and path.stat().st_size > REJECTED_MAX_BYTES:
            return
        with open(path, "a", encoding="utf-8") as f:
            record = {"at": int(time.time()), "reason": str(exc),
                      "samples": [(s.measurement, s.tags, s.fields, s.ts) for s in exc.samples]}
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
    except OSError:
        log.exception("could not keep rejected samples")
