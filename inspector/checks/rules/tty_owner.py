"""The dumped tty's owner differs from the restoring user: criu cannot fchown it."""

from __future__ import annotations

from ...model import names
from ..base import Rule
from ..facts import has_cap, make, proc_label, restoring_gid, restoring_uid

DEVPTS_TTY_GID = 5  # devpts mounted with gid=5: every new pty belongs to group tty


def is_pty_master(tty) -> bool:
    """A pty master: criu opens a fresh /dev/ptmx, whose owner is the ptmx node's (root) on any host.

    cr_fchown() (criu/util.c) forgives the EPERM of an unprivileged fchown() when the file already
    has the recorded owner, which the new master does: tmux's master, recorded as uid 0 gid 0,
    restores unprivileged (seen with CRIU 4.2.1).
    """
    return tty.type == "PTY" and names.dev_major(tty.rdev) != names.UNIX98_PTY_SLAVE_MAJOR


def check(cp, target):
    if target.privileged or has_cap(target, "CHOWN"):
        return
    uid, gid = restoring_uid(cp, target), restoring_gid(cp, target)
    seen = set()
    for proc in cp.processes:
        for fd in proc.fds:
            tty = fd.tty
            if tty is None or tty.uid is None or is_pty_master(tty):
                continue
            key = tty.tty_info_id
            if key in seen:
                continue
            t_uid, t_gid = tty.uid, tty.gid
            # fchown() by the owner may keep the file's group or pick one of its own groups; the
            # restorer's terminal is its own, in the devpts group (tty) or its private group
            if t_uid == uid and (t_gid is None or t_gid in (gid, DEVPTS_TTY_GID)):
                continue
            seen.add(key)
            fds = [f for f in proc.fds if f.tty is not None and f.tty.tty_info_id == key]
            yield make(
                RULE,
                f"{proc_label(proc)} fd {','.join(str(f.fd) for f in fds)} -> {fd.path or 'tty'}: the tty was owned "
                f"by uid {t_uid} gid {t_gid}; criu restores that owner with fchown(), which uid {uid} "
                "cannot do without CAP_CHOWN",
                pid=proc.pid,
                fd=fd.fd,
                image="tty-info.img",
                criu_error=f"tty: Can't setup uid {t_uid} gid {t_gid} on {fd.file_id:#x}: Operation not permitted",
                details={"fds": [f.fd for f in fds], "tty_uid": t_uid, "tty_gid": t_gid},
            )


RULE = Rule(
    code="CRI002",
    title="tty owned by another user than the restorer",
    category="tty",
    severity="error",
    rationale=(
        "tty-info.img records the uid and gid of every terminal. criu restore sets them back on the "
        "terminal it hands out (fchown). An unprivileged restorer may only chown a file it owns to "
        "itself, so a tty dumped as root (or as another user) stops the restore of a shell job."
    ),
    fix=(
        "restore as the user that owned the terminal (--uid), give the restorer CAP_CHOWN, or "
        "criu-inspect repair --fix uid=UID[:GID] (rewrites the recorded owner) or --fix detach-tty"
    ),
    criu_error="tty: Can't setup uid 0 gid 0 on 0x4: Operation not permitted",
    check=check,
)
