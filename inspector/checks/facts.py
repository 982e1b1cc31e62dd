"""Facts rules share: who restores, with which capabilities, and how to name what a finding concerns.

Kept here so each rule module states only its own reasoning.
"""

from __future__ import annotations

from ..model import names
from .base import Finding, Rule, Target


def restoring_uid(cp, target: Target) -> int:
    """The uid criu restore runs as: 0 for root, --uid, else the uid the dumped root task ran as."""
    if target.privileged:
        return 0
    if target.uid is not None:
        return target.uid
    creds = cp.root.creds if cp.processes else None
    return creds.uid if creds is not None else 0


def restoring_gid(cp, target: Target) -> int:
    if target.privileged:
        return 0
    if target.gid is not None:
        return target.gid
    if target.uid is not None:
        return target.uid  # the usual user private group
    creds = cp.root.creds if cp.processes else None
    return creds.gid if creds is not None else 0


def has_cap(target: Target, name: str) -> bool:
    """Root holds everything; an unprivileged restorer CHECKPOINT_RESTORE plus its --cap list."""
    return target.has_cap(name)


def restorer_cap_mask(target: Target) -> int:
    if target.privileged:
        return names.full_cap_mask()
    mask = 1 << names.CAP_BY_NAME["CHECKPOINT_RESTORE"]
    for cap in target.caps:
        if cap in names.CAP_BY_NAME:
            mask |= 1 << names.CAP_BY_NAME[cap]
    return mask


def proc_label(proc) -> str:
    return f"pid {proc.pid} ({proc.comm})" if proc.comm else f"pid {proc.pid}"


def fd_accmode(open_flags: int | None) -> str:
    """'r', 'w' or 'rw' for O_RDONLY / O_WRONLY / O_RDWR."""
    acc = (open_flags or 0) & names.O_ACCMODE
    return {0: "r", 1: "w", 2: "rw"}.get(acc, "rw")


def make(rule: Rule, message: str, *, severity: str | None = None, fix: str | None = None,
         criu_error: str | None = None, **where) -> Finding:
    """A Finding of ``rule`` with the rule's defaults where the finding says nothing more specific."""
    return Finding(
        code=rule.code, title=rule.title, category=rule.category, severity=severity or rule.severity,
        message=message, fix=fix or rule.fix, criu_error=criu_error if criu_error is not None else rule.criu_error,
        **where,
    )  # fmt: skip


def group_fds(fds) -> str:
    return ",".join(str(fd.fd) for fd in fds)
