"""Programs holding file locks: sqlite3 in an exclusive transaction (POSIX locks) and the corpus's locker
(a parent's flock(), a child's POSIX lock). --file-locks at dump and at restore; without it at restore criu
returns 0 and the program runs on without its locks: not a working restore (CRI010 is an error)."""

from __future__ import annotations

import pytest

from .lab import assert_agrees
from .programs import locker, sqlite_lock

CASES = {  # name: (start, how the probe says the lock is gone, restorers with --file-locks)
    "sqlite-lock": (sqlite_lock, "was not locked", ("test user", "root")),
    "flock": (locker, "flock was lost", ("test user",)),
}


@pytest.mark.parametrize("name", CASES)
def test_locks_need_file_locks_at_restore(lab, name):
    start, lost, restorers = CASES[name]
    user = lab.criu.user
    job = start(lab, user, nnp=True)
    dump = lab.dump(job.pid, name, user=user, flags=["--file-locks"], data=[job.data])
    for restorer in restorers:
        report, outcome = lab.judge(
            dump, job.probe, user=user if restorer == "test user" else None, flags=["--file-locks"]
        )
        assert_agrees(report, outcome)
        assert outcome.restored, outcome.describe()
    report, outcome = lab.judge(dump, job.probe, user=user)
    assert_agrees(report, outcome)
    assert outcome.rc == 0 and lost in outcome.why
    assert "CRI010" in {f["code"] for f in report["findings"] if f["severity"] == "error"}
