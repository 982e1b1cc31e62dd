"""A shell job: the ticker on a pty whose master is outside the tree. criu restore --shell-job hands it
criu's own terminal, so the restore needs both the flag and a terminal (criu runs on a pty here)."""

from __future__ import annotations

import pytest

from .lab import assert_agrees
from .programs import on_pty

CASES = [  # (criu flags, criu on a terminal, what the real restore did)
    (["--shell-job"], True, "restored"),
    (["--shell-job"], False, "Don't have tty to inherit session from"),
    ([], True, "without correspond master peer"),
]


def test_users_shell_job_needs_the_flag_and_a_terminal(lab):
    user = lab.criu.user
    job = on_pty(lab, user, nnp=True)
    dump = lab.dump(job.pid, "tty-user", user=user, flags=["--shell-job"], data=[job.data])
    for flags, terminal, real in CASES:
        report, outcome = lab.judge(dump, job.probe, user=user, flags=flags, terminal=terminal)
        assert_agrees(report, outcome)
        assert outcome.restored if real == "restored" else real in outcome.why, outcome.describe()
    report, outcome = lab.judge(dump, job.probe, flags=["--shell-job"], terminal=True)  # root
    assert_agrees(report, outcome)
    assert outcome.restored


@pytest.mark.parametrize("restorer", ["root", "test user"])
def test_root_shell_job(lab, restorer):
    """Dumped as root: root restores it on a terminal; the test user cannot take the root-owned tty."""
    job = on_pty(lab, None, nnp=False)
    dump = lab.dump(job.pid, "tty-root", flags=["--shell-job"], data=[job.data])
    user = None if restorer == "root" else lab.criu.user
    report, outcome = lab.judge(dump, job.probe, user=user, flags=["--shell-job"], terminal=True)
    assert_agrees(report, outcome)
    assert outcome.restored == (user is None), outcome.describe()
