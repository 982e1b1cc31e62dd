"""A pty slave whose master is not in the checkpoint: the tree was a shell job."""

from __future__ import annotations

from ...model import names
from ..base import Rule
from ..facts import group_fds, make, proc_label


def inherited_ttys(cp) -> list[tuple[object, list, dict]]:
    """(process, fds, tty info) for each pty slave whose master no dumped process holds.

    criu restore can only hand such a slave the terminal it runs on itself
    (--shell-job); it cannot re-create the far end.
    """
    masters = set()
    slaves = []
    for proc in cp.processes:
        by_index: dict[int, list] = {}
        for fd in proc.fds:
            tty = fd.tty
            if not tty or tty.get("type") != "PTY":
                continue
            if names.dev_major(tty.get("rdev") or 0) == names.UNIX98_PTY_SLAVE_MAJOR:
                info = cp.tty_infos.get(tty.get("tty_info_id"))
                if info is not None and not info.HasField("termios"):
                    continue  # a hung-up slave: criu gives it a fake master, nothing to inherit
                by_index.setdefault(tty.get("index"), []).append(fd)
            else:
                masters.add(tty.get("index"))
        for index, fds in by_index.items():
            slaves.append((proc, index, fds))
    return [(proc, fds, fds[0].tty) for proc, index, fds in slaves if index not in masters]


def tty_key(cp, tty) -> str | None:
    """criu's name for a tty: "tty[RDEV:DEV]" in hex (criu/tty.c tty_d_name()), the --inherit-fd resource."""
    info = cp.tty_infos.get(tty.get("tty_info_id"))
    if info is None or not info.HasField("dev"):
        return None
    return f"tty[{info.rdev:x}:{info.dev:x}]"


def check(cp, target):
    handed_in = {spec.split(":", 1)[1] for spec in target.inherit_fds if ":" in spec}
    for proc, fds, tty in inherited_ttys(cp):
        key = tty_key(cp, tty)
        if key is not None and key in handed_in:
            continue  # --inherit-fd fd[N]:tty[..] hands criu's fd N in for this terminal
        where = f"fd {group_fds(fds)} -> {fds[0].path or '/dev/pts/' + str(tty.get('index'))} (tty)"
        details = {"fds": [fd.fd for fd in fds], "path": fds[0].path, "tty_index": tty.get("index")}
        if not target.shell_job:
            yield make(
                RULE,
                f"{proc_label(proc)} {where}: the pty master is not in the checkpoint, criu restore "
                "can only give this tree its own terminal (--shell-job)",
                pid=proc.pid,
                fd=fds[0].fd,
                image="tty-info.img",
                details=details,
                criu_error="tty: Found slave peer index %d without correspond master peer" % (tty.get("index") or 0),
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
