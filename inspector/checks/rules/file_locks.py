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
            pid=lock.pid, fd=lock.fd, image="filelocks.img",
            details={"kind": lock.kind, "type": lock.type, "path": path},
        )  # fmt: skip


RULE = Rule(
    code="CRI010",
    title="file locks are lost without --file-locks",
    category="locks",
    severity="warning",
    rationale=(
        "A dump with --file-locks writes every flock(), POSIX (fcntl), OFD lock and lease the tree held "
        "into filelocks.img. criu restore re-acquires them only when given --file-locks as well; "
        "without it the restore succeeds and the locks are silently gone, so two copies of a program "
        "that relied on its lock for mutual exclusion can run at once. It is a warning, not an error: "
        "the restore itself works (seen in the corpus: unpriv-flock restored without the flag, locks lost)."
    ),
    fix="restore with --file-locks",
    criu_error="",
    check=check,
)
