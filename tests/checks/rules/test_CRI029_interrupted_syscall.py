"""CRI029: threads dumped inside a system call that returns EINTR once restored (x86_64 registers)."""

from __future__ import annotations

import json

from inspector.checks.base import Target
from inspector.checks.engine import run_checks
from inspector.model.checkpoint import Checkpoint

from ...conftest import CORPUS, corpus_dir

ROOT = Target(kind="root")


def cri029(name, target=ROOT):
    return [f for f in run_checks(corpus_dir(name), target, select=["CRI029"]).findings]


def test_tail_in_poll_on_its_inotify_fd():
    cp = Checkpoint(corpus_dir("tail-inotify"))
    [call] = cp.interrupted_calls(cp.root)
    assert (call.tid, call.name, call.nr) == (30591, "poll", 7)
    [f] = cri029("tail-inotify")
    assert f.severity == "warning" and f.details == {"tid": 30591, "syscall": "poll", "fds": [4]}
    assert "poll() on fd 4 (INOTIFY)" in f.message and "tail -F" in f.message
    # the real root restore: rc 0, then tail exited (the recorded known limit: a warning, not a blocker)
    limit = json.loads((CORPUS / "ground_truth.json").read_text())["known_limits"]["tail-inotify"]
    assert limit["restore_root"]["rc"] == "0" and not limit["restore_root"]["answered"]
    assert run_checks(corpus_dir("tail-inotify"), ROOT).verdict == "restorable"


def test_tmux_polls_three_fds_read_from_its_memory():
    [warning] = cri029("tmux", Target(uid=1001))
    assert warning.pid == 17867 and warning.details["fds"] == [3, 5, 6]
    assert "fd 5 (TTY /dev/ptmx)" in warning.message


def test_sleeps_and_futex_waits_are_not_reported():
    """They return EINTR too, and programs expect it: the model sees them, the rule stays quiet."""
    cp = Checkpoint(corpus_dir("jvm"))
    assert {c.name for c in cp.interrupted_calls(cp.root)} == {"futex"}
    assert not cri029("jvm", Target(uid=1001))
    cp = Checkpoint(corpus_dir("plain"))
    assert [(c.tid, c.name) for c in cp.interrupted_calls(cp.root)] == [(14055, "clock_nanosleep")]
    assert not cri029("plain")
    # sqlite3 waits for its .shell child in wait4(), which the kernel restarts (ERESTARTSYS): not even seen
    cp = Checkpoint(corpus_dir("sqlite-lock"))
    assert not cp.interrupted_calls(cp.root)
