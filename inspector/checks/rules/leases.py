"""File leases can be taken again only by the file's owner (or with CAP_LEASE)."""

from __future__ import annotations

from ...model import names
from ..base import Rule
from ..facts import has_cap, make, proc_label, restoring_uid


def check(cp, target):
    if target.privileged or has_cap(target, "LEASE"):
        return
    uid = restoring_uid(cp, target)
    by_pid = {p.pid: p for p in cp.processes}
    for lock in cp.file_locks:
        if not lock.flag & names.FL_LEASE:
            continue
        proc = by_pid.get(lock.pid)
        owner = proc.creds.fsuid if proc is not None and proc.creds is not None else None
        if owner == uid:
            continue
        fd = next((f for f in proc.fds if f.fd == lock.fd), None) if proc else None
        yield make(
            RULE,
            f"{proc_label(proc) if proc else f'pid {lock.pid}'} fd {lock.fd} -> {fd.path if fd else '?'}: "
            f"{lock.type} lease taken by a task running as uid {owner}; fcntl(F_SETLEASE) succeeds only for "
            f"the file's owner, which uid {uid} most likely is not",
            pid=lock.pid, fd=lock.fd, image="filelocks.img", details={"assumed_owner": owner},
        )  # fmt: skip


RULE = Rule(
    code="CRI011",
    title="file lease the restoring user cannot take",
    category="locks",
    severity="error",
    rationale=(
        "A lease (fcntl F_SETLEASE) may only be set by the owner of the file or a process with "
        "CAP_LEASE. criu restore --file-locks sets every lease again as the restoring user, so a "
        "lease a root task held on a root-owned file cannot come back in an unprivileged restore."
    ),
    fix="restore as the file's owner or as root, grant CAP_LEASE, or drop the lease before dumping",
    criu_error="Can't set lease: Permission denied",
    check=check,
)
