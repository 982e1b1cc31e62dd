"""sqlite3 holding a write lock (an exclusive transaction): --file-locks at dump and at restore."""

from __future__ import annotations

from .lab import assert_agrees
from .programs import sqlite_lock


def test_sqlite_lock_needs_file_locks_at_restore(lab):
    user = lab.criu.user
    db = sqlite_lock(lab, user)
    dump = lab.dump(db.pid, "sqlite-lock", user=user, flags=["--file-locks"], data=[db.data])

    for restorer in (user, None):
        report, outcome = lab.judge(dump, db.probe, user=restorer, flags=["--file-locks"])
        assert_agrees(report, outcome)
        assert outcome.restored, outcome.describe()

    # without the flag criu returns 0 and sqlite3 runs on, without its lock: not a working restore
    report, outcome = lab.judge(dump, db.probe, user=user)
    assert_agrees(report, outcome)
    assert outcome.rc == 0 and "was not locked" in outcome.why
    assert "CRI010" in {f["code"] for f in report["findings"] if f["severity"] == "error"}
