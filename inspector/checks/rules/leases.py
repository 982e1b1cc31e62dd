"""File leases can be taken again only by the file's owner (or with CAP_LEASE)."""

from __future__ import annotations

from ...model import names
from ..base import Rule
from ..facts import assumed_owner, has_cap, make, proc_label, restoring_uid


def check(cp, target):
    if not target.file_locks:
        return  # without --file-locks no lock or lease is taken again (CRI010 says they are lost)
    if target.privileged or has_cap(target, "LEASE") or has_cap(target, "SETUID"):
        return  # criu setfsuid()s to the file's owner first, which CAP_SETUID allows
    uid = restoring_uid(cp, target)
    by_pid = {p.pid: p for p in cp.processes}
    for lock in cp.file_locks:
        if not lock.flag & names.FL_LEASE:
            continue
        proc = by_pid.get(lock.pid)
        fd = next((f for f in proc.fds if f.fd == lock.fd), None) if proc else None
        owner = assumed_owner(cp, proc, fd.path if fd else None)[0] if proc is not None else None
        if owner == uid:
            continue
        yield make(
            RULE,
            f"{proc_label(proc) if proc else f'pid {lock.pid}'} fd {lock.fd} -> {fd.path if fd else '?'}: "
            f"{lock.type} lease taken by a task that was dumped running as uid {owner}; criu switches its fsuid "
            f"to the file's owner and calls fcntl(F_SETLEASE), and uid {uid} can neither take that fsuid "
            "(no CAP_SETUID) nor lease a file it does not own (no CAP_LEASE)",
            pid=lock.pid,
            fd=lock.fd,
            image="filelocks.img",
            details={"assumed_owner": owner},
        )


RULE = Rule(
    code="CRI011",
    title="file lease the restoring user cannot take",
    category="locks",
    severity="error",
    rationale=(
        "A lease (fcntl F_SETLEASE) may only be set by a process whose fsuid owns the file, or with "
        "CAP_LEASE. criu restore --file-locks sets every lease again: it calls setfsuid(owner of the "
        "file) first, which only works with CAP_SETUID, then F_SETLEASE. So a lease a root task held on "
        "a root-owned file cannot come back in an unprivileged restore. Without --file-locks no lease is "
        "restored at all (CRI010)."
    ),
    fix="restore as the file's owner or as root, grant CAP_LEASE or CAP_SETUID, or drop the lease before dumping",
    criu_error="Can't set lease: Permission denied",
    check=check,
)
