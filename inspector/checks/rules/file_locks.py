"""File locks (flock, POSIX, OFD, leases) are restored only with --file-locks."""

from __future__ import annotations

from ..base import Rule
from ..facts import make, proc_label


def check(cp, target):
    locks = cp.file_locks
    if not locks:
        return
    if target.file_locks:
        return
    by_pid = {p.pid: p for p in cp.processes}
    for lock in locks:
        proc = by_pid.get(lock.pid)
        fd = next((f for f in proc.fds if f.fd == lock.fd), None) if proc else None
        path = fd.path if fd is not None else "?"
        span = "" if lock.kind in ("FLOCK", "LEASE") else f" bytes {lock.start}+{lock.length or 'EOF'}"
        yield make(
            RULE,
            f"{proc_label(proc) if proc else f'pid {lock.pid}'} fd {lock.fd} -> {path}: {lock.kind} {lock.type} "
            f"lock{span}; without --file-locks criu restore does not take it again and does not say so",
            pid=lock.pid,
            fd=lock.fd,
            image="filelocks.img",
            details={"kind": lock.kind, "type": lock.type, "path": path},
        )


RULE = Rule(
    code="CRI010",
    title="file locks are lost without --file-locks",
    category="locks",
    severity="error",
    rationale=(
        "A dump with --file-locks writes every flock(), POSIX (fcntl), OFD lock and lease the tree held "
        "into filelocks.img. criu restore re-acquires them only when given --file-locks as well; "
        "without it criu returns 0 and the program runs on without the locks it believes it holds: "
        "an sqlite3 in the middle of a write transaction, restored so by CRIU 4.2.1, no longer kept "
        "another connection from writing its database (end-to-end test). A restore that leaves a "
        "program running unprotected is not a working restore, so this is an error."
    ),
    fix="restore with --file-locks",
    criu_error="",
    check=check,
)
