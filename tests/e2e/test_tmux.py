"""tmux: the server holds the master of its pane's pty, inside the dumped tree (no --shell-job)."""

from __future__ import annotations

from .lab import assert_agrees
from .programs import tmux_pane


def test_tmux_pane_restores_unprivileged_and_as_root(lab):
    """The master is recorded as uid 0 gid 0 (the ptmx node's owner): criu's fchown() of a fresh master
    changes nothing, so CRI002 must not block it (it did before the real restore said otherwise)."""
    user = lab.criu.user
    tmux = tmux_pane(lab, user)
    dump = lab.dump(tmux.pid, "tmux", user=user, data=[tmux.data])
    for restorer in (user, None):
        report, outcome = lab.judge(dump, tmux.probe, user=restorer)
        assert_agrees(report, outcome)
        assert outcome.restored, outcome.describe()
