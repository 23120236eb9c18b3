"""The incident audit: the same problem opened twice is a duplicate; a later recurrence is not."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import insert

from alerting.db import incidents, open_database
from poller.cluster.audit import audit_incidents

T0 = 1_790_000_000


def test_duplicate_means_same_key_and_same_start(tmp_path: Path) -> None:
    engine = open_database(f"sqlite:///{tmp_path / 'a.sqlite'}")
    rows = [("device_down:r1", T0, "resolved"), ("device_down:r1", T0, "resolved"),  # replayed twice
            ("device_down:r1", T0 + 300, "open"),  # the router failed again later
            ("flapping:r1", T0 + 60, "open")]
    with engine.begin() as conn:
        for key, opened, status in rows:
            conn.execute(insert(incidents).values(
                key=key, kind=key.split(":")[0], severity=3, status=status, title="t", why="w",
                runbook="runbooks/x.md", province="31", affected=[], details={}, opened_at=opened,
                updated_at=opened))
    audit = audit_incidents(engine, T0, expected=["device_down:r1", "device_down:r2"])
    assert audit.duplicates == 1
    assert audit.reopened == 1
    assert audit.by_key == {"device_down:r1": 3, "flapping:r1": 1}
    assert audit.missed == {"device_down:r2"}
    engine.dispose()
