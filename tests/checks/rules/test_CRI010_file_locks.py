"""CRI010 (file_locks): on a real corpus checkpoint or on a copy of one changed by
decode -> change -> encode (each such test says so in its docstring)."""

from __future__ import annotations

from tests.checks.rule_fixtures import UNPRIV, found, unpriv
from tests.conftest import corpus_dir


def test_cri010_file_locks_lost_without_flag():
    got = found(corpus_dir("unpriv-flock"), UNPRIV, "CRI010", "error")
    assert {(f.pid, f.details["kind"]) for f in got} == {(21166, "FLOCK"), (21168, "POSIX")}
    assert not found(corpus_dir("unpriv-flock"), unpriv(file_locks=True), "CRI010")
    assert not found(corpus_dir("plain"), UNPRIV, "CRI010")
    # sqlite3 in an exclusive transaction: its POSIX locks on the database (the e2e lock probe failed
    # after a restore without --file-locks)
    got = found(corpus_dir("sqlite-lock"), UNPRIV, "CRI010", "error")
    assert got and {f.details["kind"] for f in got} == {"POSIX"}
    assert all(f.details["path"].endswith("/sqlite/app.db") for f in got)
    assert not found(corpus_dir("sqlite-lock"), unpriv(file_locks=True), "CRI010")
