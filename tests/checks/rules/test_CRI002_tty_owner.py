"""CRI002 (tty_owner): on a real corpus checkpoint or on a copy of one changed by
decode -> change -> encode (each such test says so in its docstring)."""

from __future__ import annotations

from inspector.checks.base import Target
from tests.checks.rule_fixtures import edit, found, unpriv
from tests.conftest import corpus_dir


def test_cri002_tty_owner():
    got = found(corpus_dir("tty"), unpriv(shell_job=True, terminal=True), "CRI002", "error")
    assert got and got[0].details["tty_uid"] == 0
    assert got[0].criu_error == "tty: Can't setup uid 0 gid 0 on 0x4: Operation not permitted"
    assert not found(corpus_dir("tty"), unpriv(shell_job=True, terminal=True, caps=frozenset({"CHOWN"})), "CRI002")
    assert not found(corpus_dir("unpriv-tty"), unpriv(shell_job=True, terminal=True), "CRI002")
    assert not found(corpus_dir("tty"), Target(kind="root", shell_job=True, terminal=True), "CRI002")


def test_cri002_pty_master_is_not_a_blocker():
    """tmux holds its pane's master, recorded as uid 0 gid 0 (the ptmx node's): it restored unprivileged."""
    from inspector.model.checkpoint import Checkpoint

    cp = Checkpoint(corpus_dir("tmux"))
    ttys = {(fd.path, fd.tty.uid, fd.tty.gid) for p in cp.processes for fd in p.fds if fd.tty is not None}
    assert ttys == {("/dev/ptmx", 0, 0), ("/dev/pts/0", 1001, 1001)}
    assert not found(corpus_dir("tmux"), unpriv(), "CRI002")
    # the same tree restored by another user: the pane's slave (1001's) is still that user's to chown
    other = found(corpus_dir("tmux"), unpriv(uid=1002), "CRI002", "error")
    assert [(f.details["tty_uid"], f.details["fds"]) for f in other] == [(1001, [0, 1, 2])]


def test_cri002_tty_group_tty_is_fine_other_owner_is_not(writable_copy):
    """unpriv-tty copy, tty-info.img decoded, the tty's gid set to 5 (tty, as devpts gives every pty)
    and then its uid set to 1002, encoded again each time."""
    d = writable_copy("unpriv-tty")
    edit(d, "tty-info.img", lambda t: setattr(t, "gid", 5))
    assert not found(d, unpriv(shell_job=True, terminal=True), "CRI002")
    edit(d, "tty-info.img", lambda t: setattr(t, "uid", 1002))
    got = found(d, unpriv(shell_job=True, terminal=True), "CRI002", "error")
    assert got and got[0].criu_error == "tty: Can't setup uid 1002 gid 5 on 0x4: Operation not permitted"
