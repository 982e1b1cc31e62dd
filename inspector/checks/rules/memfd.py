"""memfd files: re-created from memfd.img, then chowned to their dumped owner."""

from __future__ import annotations

from ...model import names
from ..base import Rule
from ..facts import has_cap, make, proc_label, restoring_uid

MEMFD_INODE_IMAGE = "memfd.img"  # CRIU's image-desc.c: MEMFD_INODE -> "memfd"


def _inode_id(cp, fd=None, vma=None):
    file_id = fd.file_id if fd is not None else vma.shmid
    return cp.memfd_inode_id(file_id) if file_id is not None else None


def check(cp, target):
    inodes = cp.memfd_inodes()
    can_chown = target.privileged or has_cap(target, "CHOWN")
    uid = restoring_uid(cp, target)
    reported_owner: set[int] = set()
    for proc in cp.processes:
        fds = [fd for fd in proc.fds if fd.memfd]
        maps = [v for v in proc.vmas if v.status & names.VMA_AREA_MEMFD]
        if not fds and not maps:
            continue
        parts = [f"fd {fd.fd} -> {fd.path}" for fd in fds] + [f"mapping at {v.start:#x} -> {v.path}" for v in maps[:3]]
        ids = {i for i in [_inode_id(cp, fd=fd) for fd in fds] + [_inode_id(cp, vma=v) for v in maps] if i is not None}
        missing = sorted(i for i in ids if i not in inodes)
        where = dict(
            pid=proc.pid,
            fd=fds[0].fd if fds else None,
            vma_start=maps[0].start if maps and not fds else None,
            image=MEMFD_INODE_IMAGE,
        )
        if missing:
            yield make(
                RULE,
                f"{proc_label(proc)}: memfd {'; '.join(parts)}; criu re-creates it with memfd_create() and refills "
                f"it from {MEMFD_INODE_IMAGE}, but {MEMFD_INODE_IMAGE} has no inode {', '.join(map(str, missing))}: "
                "its contents are missing from the checkpoint",
                severity="error",
                details={"missing_inodes": missing},
                **where,
            )
            continue
        blocked = False
        for inode_id in sorted(ids):
            mie = inodes[inode_id]
            if can_chown or inode_id in reported_owner or mie.uid == uid:
                continue
            reported_owner.add(inode_id)
            blocked = True
            name = mie.name
            yield make(
                RULE,
                f"{proc_label(proc)}: memfd:{name} (inode {inode_id}) belonged to uid {mie.uid} gid {mie.gid}; criu "
                f"creates it as the restoring user and fchown()s it back, which uid {uid} cannot do without CAP_CHOWN",
                severity="error",
                details={"inode": inode_id, "uid": mie.uid, "gid": mie.gid, "restoring_uid": uid},
                criu_error=f"Can't change uid {mie.uid} gid {mie.gid} of memfd:{name}: Operation not permitted",
                fix="restore as that user (--uid), grant the restorer CAP_CHOWN, or restore as root",
                **where,
            )
        if not blocked:
            yield make(
                RULE,
                f"{proc_label(proc)}: memfd {'; '.join(parts)}; criu re-creates it with memfd_create() and refills it "
                f"from {MEMFD_INODE_IMAGE}",
                severity="info",
                criu_error="",
                **where,
            )


RULE = Rule(
    code="CRI021",
    title="memfd (anonymous file) in the checkpoint",
    category="files",
    severity="info",
    rationale=(
        "A memfd has no path on disk: criu saves its name, owner, seals and size in memfd.img (its pages "
        "as shared memory) and re-creates it on restore with memfd_create(), refills it, then gives it its "
        "dumped owner back with fchown(); criu accepts a failed fchown() only when the new memfd already has "
        "that uid and gid. So a memfd of another user (a root task's JIT cache, a shared buffer) stops an "
        "unprivileged restore, and a checkpoint missing memfd.img cannot be restored at all. Otherwise it is "
        "reported because its contents ship with the image."
    ),
    fix="nothing to do; keep memfd.img (and its pagemap-shmem/pages images) with the checkpoint",
    criu_error=None,
    check=check,
)
