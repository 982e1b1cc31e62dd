"""CRI011 (leases): on a real corpus checkpoint or on a copy of one changed by
decode -> change -> encode (each such test says so in its docstring)."""

from __future__ import annotations

from inspector.checks.base import Target
from inspector.model import names
from tests.checks.rule_fixtures import edit, found, unpriv
from tests.conftest import corpus_dir


def test_cri011_lease(writable_copy):
    """flock copy, filelocks.img decoded, the flock of pid 15441 turned into a write lease
    (fl_flag FL_LEASE), encoded again."""
    d = writable_copy("flock")
    edit(d, "filelocks.img", lambda m: setattr(m, "flag", names.FL_LEASE) if m.pid == 15441 else False)
    got = found(d, unpriv(file_locks=True), "CRI011", "error")
    assert got and got[0].pid == 15441 and got[0].fd == 3 and got[0].details["assumed_owner"] == 0
    assert not found(d, Target(kind="root", file_locks=True), "CRI011")
    assert not found(corpus_dir("flock"), unpriv(file_locks=True), "CRI011")
    # criu/file-lock.c: leases are taken only with --file-locks, after setfsuid(owner) (CAP_SETUID suffices)
    assert not found(d, unpriv(), "CRI011")
    assert not found(d, unpriv(file_locks=True, caps=frozenset({"SETUID"})), "CRI011")
    assert got[0].criu_error == "Can't set lease: Permission denied"
