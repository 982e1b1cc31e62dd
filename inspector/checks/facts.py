"""Facts rules share: who restores, with which capabilities, and how to name what a finding concerns.

Kept here so each rule module states only its own reasoning.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from ..errors import InspectError
from ..model import names
from .base import ASSUMED_NONROOT_UID, Finding, Rule, Severity, Target

if TYPE_CHECKING:
    from ..model.checkpoint import Checkpoint
    from ..model.types import Creds, Process


def creds_of(cp: Checkpoint, proc: Process) -> Creds | None:
    """The creds a task was dumped with; None only for a task CRIU records none for (a zombie).

    A live task whose creds cannot be read raises the error of its core image: a rule must not stand
    a default (uid 0, no no_new_privs) in for a fact it could not read.
    """
    if proc.creds is not None or proc.state in ("zombie", "dead"):
        return proc.creds
    name = f"core-{proc.pid}.img"
    if name not in cp.files:
        raise InspectError(os.path.join(cp.path, name), "missing: the task's credentials are unknown")
    cp.thread_creds(proc.pid)  # raises the reason it could not be read
    raise InspectError(os.path.join(cp.path, name), "no credentials recorded for a live task")


def root_creds(cp: Checkpoint) -> Creds:
    """The creds the tree's root task ran with (raises if there are none)."""
    creds = creds_of(cp, cp.root)
    if creds is None:
        raise InspectError(os.path.join(cp.path, f"core-{cp.root.pid}.img"), "the root task has no credentials")
    return creds


def dumped_uid(cp: Checkpoint) -> int:
    """The uid the tree's root task ran as."""
    return root_creds(cp).uid


def restoring_uid(cp, target: Target) -> int:
    """The uid criu restore runs as: 0 for root, --uid, else the uid the dumped root task ran as.

    A tree that ran as root has no "as dumped" unprivileged restorer (uid 0 without capabilities is
    nobody's restore): a non-root user is assumed, shown as ASSUMED_NONROOT_UID.
    """
    if target.privileged:
        return 0
    if target.uid is not None:
        return target.uid
    uid = dumped_uid(cp)
    return ASSUMED_NONROOT_UID if uid == 0 else uid


def restoring_gid(cp, target: Target) -> int:
    if target.privileged:
        return 0
    if target.gid is not None:
        return target.gid
    if target.uid is not None:
        return target.uid  # the usual user private group
    creds = root_creds(cp)
    return ASSUMED_NONROOT_UID if creds.uid == 0 else creds.gid


def assumed_owner(cp, proc, path: str | None = None) -> tuple[int | None, int | None]:
    """(uid, gid) a file the task had open most likely belongs to: the fs ids it ran with when dumped.

    files.img records no owner. A repaired checkpoint's creds may have been rewritten (--fix uid), so the
    ids as dumped come from its repair record; a path a relocate fix wrote is a file the user chose for the
    task as it runs now, so it is assumed to be the (new) task user's.
    """
    record = cp.repair_record
    if record is not None and not (path is not None and path in record.relocated):
        ids = record.dumped_creds.get(proc.pid)
        if ids is not None:
            return ids["fsuid"], ids["fsgid"]
    c = creds_of(cp, proc)
    return (c.fsuid, c.fsgid) if c is not None else (None, None)


def has_cap(target: Target, name: str) -> bool:
    """Root holds everything; an unprivileged restorer CHECKPOINT_RESTORE plus its --cap list."""
    return target.has_cap(name)


def restorer_cap_mask(target: Target) -> int:
    if target.privileged:
        return names.full_cap_mask()
    mask = 0
    for cap, bit in names.CAP_BY_NAME.items():
        if target.has_cap(cap):
            mask |= 1 << bit
    return mask


def task_creds(cp: Checkpoint, proc: Process) -> list[tuple[int, Creds]]:
    """(tid, Creds) of the main thread, then of each thread whose creds differ from it.

    The restorer gives every thread its own creds from core-TID.img (restore_creds() per thread), so a
    thread that ran with other ids or capabilities fails on its own.
    """
    main = creds_of(cp, proc)  # proc.creds, or raises
    out = [(proc.pid, main)] if main is not None else []
    for tid in proc.threads:
        if tid == proc.pid or f"core-{tid}.img" not in cp.files:
            continue
        creds = cp.thread_creds(tid)
        if creds is None:
            continue
        if proc.creds is None or creds != proc.creds:
            out.append((tid, creds))
    return out


def task_label(proc, tid: int) -> str:
    return proc_label(proc) if tid == proc.pid else f"{proc_label(proc)} thread {tid}"


def proc_label(proc) -> str:
    return f"pid {proc.pid} ({proc.comm})" if proc.comm else f"pid {proc.pid}"


# the permission bits each access mode (names.access_mode) needs, and how a message says it
NEEDED_BITS = {"r": 0o4, "w": 0o2, "rw": 0o6}
ACCESS_VERB = {"r": "reading", "w": "writing", "rw": "reading and writing"}


def make(
    rule: Rule,
    message: str,
    *,
    severity: Severity | None = None,
    fix: str | None = None,
    criu_error: str | None = None,
    **where,
) -> Finding:
    """A Finding of ``rule`` with the rule's defaults where the finding says nothing more specific."""
    return Finding(
        code=rule.code,
        title=rule.title,
        category=rule.category,
        severity=severity or rule.severity,
        message=message,
        fix=fix or rule.fix,
        criu_error=criu_error if criu_error is not None else rule.criu_error,
        **where,
    )


def group_fds(fds) -> str:
    return ",".join(str(fd.fd) for fd in fds)
