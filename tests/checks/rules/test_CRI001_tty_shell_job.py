"""CRI001 (tty_shell_job): on a real corpus checkpoint or on a copy of one changed by
decode -> change -> encode (each such test says so in its docstring)."""

from __future__ import annotations

from tests.checks.rule_fixtures import UNPRIV, edit, found, unpriv
from tests.conftest import corpus_dir


def test_cri001_tty_needs_shell_job_and_terminal():
    tty = corpus_dir("unpriv-tty")
    bare = found(tty, unpriv(), "CRI001", "error")
    assert bare and bare[0].pid == 23334 and bare[0].details["fds"] == [0, 1, 2]
    assert "without correspond master peer" in bare[0].criu_error
    no_term = found(tty, unpriv(shell_job=True), "CRI001", "error")
    assert no_term and "Don't have tty to inherit session from" in no_term[0].criu_error
    assert not found(tty, unpriv(shell_job=True, terminal=True), "CRI001")
    assert not found(corpus_dir("plain"), unpriv(), "CRI001")


def test_cri001_hung_up_slave_needs_no_terminal(writable_copy):
    """unpriv-tty copy, tty-info.img decoded, termios/termios_locked/winsize cleared (a hung-up pty, as criu
    dumps a slave whose master was closed), encoded again: criu restores it with a fake master."""
    d = writable_copy("unpriv-tty")

    def hang_up(t):
        for name in ("termios", "termios_locked", "winsize"):
            t.ClearField(name)

    edit(d, "tty-info.img", hang_up)
    assert not found(d, unpriv(), "CRI001")


def test_cri001_tty_handed_in_with_inherit_fd():
    """unpriv-tty (real): its pty slave is criu's tty[8800:1a] (rdev 0x8800, dev 0x1a in tty-info.img;
    criu/tty.c tty_d_name()). Handed in with --inherit-fd fd[N]:tty[8800:1a] it needs no --shell-job."""
    tty = corpus_dir("unpriv-tty")
    assert found(tty, UNPRIV, "CRI001", "error")
    assert not found(tty, unpriv(inherit_fds=("fd[0]:tty[8800:1a]",)), "CRI001")
    assert found(tty, unpriv(inherit_fds=("fd[0]:tty[8800:1b]",)), "CRI001", "error")  # another terminal
