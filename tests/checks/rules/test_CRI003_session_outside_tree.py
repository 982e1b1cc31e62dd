"""CRI003 (session_outside_tree): on a real corpus checkpoint or on a copy of one changed by
decode -> change -> encode (each such test says so in its docstring)."""

from __future__ import annotations

from inspector.checks.base import Target
from tests.checks.rule_fixtures import ROOT, edit, found
from tests.conftest import corpus_dir


def test_cri003_foreign_session_and_tree_inside():
    sj = corpus_dir("shelljob-foreign-sid")
    got = found(sj, ROOT, "CRI003", "error")
    assert got and got[0].pid == 16254 and got[0].details == {"sid": 16252, "pgid": 16252}
    assert not found(sj, Target(kind="root", shell_job=True), "CRI003")
    # tree: c1 has its own session, c2 its own group, all inside the tree: nothing to flag
    assert not found(corpus_dir("tree"), ROOT, "CRI003")


def test_cri003_child_session_led_from_outside(writable_copy):
    """tree copy, pstree.img decoded, child 15785's sid set to 999 (not dumped), encoded again."""
    d = writable_copy("tree")
    edit(d, "pstree.img", lambda m: setattr(m, "sid", 999) if m.pid == 15785 else False)
    # criu/pstree.c prepare_pstree_ids(): a helper task with pid 999 recreates the session, then exits
    got = found(d, Target(kind="root", shell_job=True), "CRI003", "warning")
    assert [(f.pid, f.details) for f in got] == [(15785, {"sid": 999})] and "helper task with pid 999" in got[0].message
