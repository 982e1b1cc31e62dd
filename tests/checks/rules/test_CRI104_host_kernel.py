"""CRI104 (host kernel): a terminal's locked termios need CAP_SYS_ADMIN before Linux 6.8.

Real corpus checkpoint unpriv-tty (a pty slave with locked termios in tty-info.img), checked against hosts
with fixed kernel releases (tests.checks.test_host.FixedHost), since this machine runs 6.18 only.
"""

from __future__ import annotations

from inspector.checks.base import Target
from inspector.checks.rules import host_kernel
from inspector.model.checkpoint import Checkpoint
from tests.checks.test_host import FixedHost
from tests.conftest import corpus_dir

UNPRIV_SJ = Target(
    kind="unprivileged", uid=1001, caps=frozenset({"NET_ADMIN", "SYS_PTRACE"}), shell_job=True, terminal=True
)


def _tty_findings(cp, target, kernel):
    return [f for f in host_kernel.check(cp, target, host=FixedHost(kernel=kernel)) if "termios" in f.message]


def test_cri104_locked_termios_before_6_8():
    """criu/tty.c do_restore_tty_parms(): TIOCSLCKTRMIOS, "Can't set tty params on %d"; the kernel allows it
    with CAP_CHECKPOINT_RESTORE only from 6.8 (commit "tty: allow TIOCSLCKTRMIOS with CAP_CHECKPOINT_RESTORE")."""
    cp = Checkpoint(corpus_dir("unpriv-tty"))
    got = _tty_findings(cp, UNPRIV_SJ, "6.1.0")
    assert len(got) == 1 and got[0].severity == "error" and got[0].code == "CRI104"
    assert got[0].criu_error == "tty: Can't set tty params on 4: Operation not permitted"
    assert got[0].pid == 23334 and got[0].fd == 0
    assert not _tty_findings(cp, UNPRIV_SJ, "6.8.0")
    assert not _tty_findings(cp, Target(kind="root", shell_job=True, terminal=True), "6.1.0")
    assert not _tty_findings(cp, Target(kind="unprivileged", uid=1001, caps=frozenset({"SYS_ADMIN"})), "6.1.0")
    assert not _tty_findings(Checkpoint(corpus_dir("unpriv-plain-nnp")), UNPRIV_SJ, "6.1.0")  # no terminal
