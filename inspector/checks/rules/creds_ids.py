"""Task uids/gids differ from the restoring user's."""

from __future__ import annotations

from ..base import Rule
from ..facts import has_cap, make, restoring_gid, restoring_uid, task_creds, task_label


def check(cp, target):
    if target.privileged:
        return
    uid, gid = restoring_uid(cp, target), restoring_gid(cp, target)
    for proc, tid, c in ((p, tid, c) for p in cp.processes for tid, c in task_creds(cp, p)):
        uids = {"uid": c.uid, "euid": c.euid, "suid": c.suid, "fsuid": c.fsuid}
        gids = {"gid": c.gid, "egid": c.egid, "sgid": c.sgid, "fsgid": c.fsgid}
        bad_u = {k: v for k, v in uids.items() if v != uid}
        bad_g = {k: v for k, v in gids.items() if v != gid}
        if bad_u and not has_cap(target, "SETUID"):
            only_fs = set(bad_u) == {"fsuid"}
            yield make(
                RULE,
                f"{task_label(proc, tid)} ran as "
                + " ".join(f"{k}={v}" for k, v in uids.items())
                + f"; restoring user {uid} cannot setresuid() to that without CAP_SETUID",
                pid=proc.pid,
                image=f"core-{tid}.img",
                details={"ids": c.ids, "restoring_uid": uid},
                criu_error="Unable to set fsuid" if only_fs else None,
            )
        elif bad_g and not has_cap(target, "SETGID"):
            yield make(
                RULE,
                f"{task_label(proc, tid)} ran as "
                + " ".join(f"{k}={v}" for k, v in gids.items())
                + f"; restoring group {gid} cannot setresgid() to that without CAP_SETGID",
                pid=proc.pid,
                image=f"core-{tid}.img",
                details={"ids": c.ids, "restoring_gid": gid},
                criu_error="Unable to set fsgid"
                if set(bad_g) == {"fsgid"}
                else "Unable to set real, effective and saved group ID: -1",
                fix="restore as that group (--gid), grant CAP_SETGID, or criu-inspect repair --fix uid=UID:GID",
            )
        groups = [g for g in c.groups]
        # restore_creds() calls setgroups() only when the restorer's groups differ from the task's: the same
        # user restoring usually has the same groups; another user (switching ids with CAP_SETUID) does not
        if (
            groups
            and sorted(groups) != [gid]
            and c.uid != uid
            and has_cap(target, "SETUID")
            and not has_cap(target, "SETGID")
        ):
            yield make(
                RULE,
                f"{task_label(proc, tid)} had supplementary groups {groups}; criu calls setgroups() unless the "
                "restorer already has exactly these groups, which needs CAP_SETGID",
                severity="warning",
                pid=proc.pid,
                image=f"core-{tid}.img",
                criu_error=f"Can't setgroups([{len(groups)} gids]): -1",
                fix="restore as a user with the same supplementary groups, or grant CAP_SETGID",
                details={"groups": groups},
            )


RULE = Rule(
    code="CRI005",
    title="task credentials differ from the restoring user",
    category="credentials",
    severity="error",
    rationale=(
        "The restorer blob gives every task its dumped uid/euid/suid/fsuid and gid/egid/sgid/fsgid back "
        "with setresuid()/setfsuid()/setresgid() as one of its last steps (skipped when they already "
        "match the restorer's). Without CAP_SETUID (CAP_SETGID) a user can only "
        "switch among its own ids, so a tree dumped as root, or as another user, fails to restore "
        "unprivileged, after all its memory and files were set up."
    ),
    fix="restore as that user (--uid), grant the restorer CAP_SETUID/CAP_SETGID, or criu-inspect repair --fix uid=UID[:GID]",
    criu_error="Unable to set real, effective and saved user ID: -1",
    check=check,
)
