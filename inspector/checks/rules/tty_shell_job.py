"""A pty slave whose master is not in the checkpoint: the tree was a shell job."""

from __future__ import annotations

from ...model import names
from ...model.types import Fd, Process, TtyInfo
from ..base import Rule
from ..facts import group_fds, make, proc_label


def inherited_ttys(cp) -> list[tuple[Process, list[Fd], TtyInfo]]:
    """(process, fds, tty info) for each pty slave whose master no dumped process holds.

    criu restore can only hand such a slave the terminal it runs on itself
    (--shell-job); it cannot re-create the far end.
    """
    masters = set()
    slaves = []
    for proc in cp.processes:
        by_index: dict[int | None, list[Fd]] = {}
        for fd in proc.fds:
            tty = fd.tty
            if tty is None or tty.type != "PTY":
                continue
            if names.dev_major(tty.rdev) == names.UNIX98_PTY_SLAVE_MAJOR:
                if not tty.termios:
                    continue  # a hung-up slave: criu gives it a fake master, nothing to inherit
                by_index.setdefault(tty.index, []).append(fd)
            else:
                masters.add(tty.index)
        for index, fds in by_index.items():
            slaves.append((proc, index, fds))
    out = []
    for proc, index, fds in slaves:
        tty = fds[0].tty
        if index not in masters and tty is not None:
            out.append((proc, fds, tty))
    return out


def check(cp, target):
    handed_in = {spec.split(":", 1)[1] for spec in target.inherit_fds if ":" in spec}
    for proc, fds, tty in inherited_ttys(cp):
        key = tty.criu_name
        if key is not None and key in handed_in:
            continue  # --inherit-fd fd[N]:tty[..] hands criu's fd N in for this terminal
        where = f"fd {group_fds(fds)} -> {fds[0].path or '/dev/pts/' + str(tty.index)} (tty)"
        details = {"fds": [fd.fd for fd in fds], "path": fds[0].path, "tty_index": tty.index}
        if not target.shell_job:
            yield make(
                RULE,
                f"{proc_label(proc)} {where}: the pty master is not in the checkpoint, criu restore "
                "can only give this tree its own terminal (--shell-job)",
                pid=proc.pid,
                fd=fds[0].fd,
                image="tty-info.img",
                details=details,
                criu_error="tty: Found slave peer index %d without correspond master peer" % (tty.index or 0),
            )
        elif not target.terminal:
            yield make(
                RULE,
                f"{proc_label(proc)} {where}: with --shell-job criu hands the tree its own terminal, "
                "but criu will not run on a terminal",
                pid=proc.pid,
                fd=fds[0].fd,
                image="tty-info.img",
                details=details,
                criu_error="tty: Don't have tty to inherit session from, aborting",
                fix="run criu restore --shell-job on a terminal (e.g. under script(1) or a pty), or "
                "criu-inspect repair --fix detach-tty",
            )


RULE = Rule(
    code="CRI001",
    title="tty-bound tree needs --shell-job and a terminal",
    category="tty",
    severity="error",
    rationale=(
        "A process whose fds point at a pty slave whose master lives outside the dumped tree "
        "(an interactive shell job, a container console) cannot have that terminal re-created: "
        "criu restore --shell-job gives the restored tree the terminal criu itself runs on. "
        "Without --shell-job the restore fails; with it but no terminal (a detached container, "
        "CI, stdin on /dev/null) criu aborts."
    ),
    fix="restore with --shell-job from a terminal, or criu-inspect repair --fix detach-tty (stdio to /dev/null)",
    criu_error="tty: Don't have tty to inherit session from, aborting",
    check=check,
)
