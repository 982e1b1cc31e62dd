"""memfd files: restored from the checkpoint's memfd images."""

from __future__ import annotations

from ...model import names
from ..base import Rule
from ..facts import make, proc_label


def check(cp, target):
    for proc in cp.processes:
        fds = [fd for fd in proc.fds if fd.memfd]
        maps = [v for v in proc.vmas if v.status & names.VMA_AREA_MEMFD]
        if not fds and not maps:
            continue
        parts = [f"fd {fd.fd} -> {fd.path}" for fd in fds] + [f"mapping at {v.start:#x} -> {v.path}" for v in maps[:3]]
        has_image = any(f.startswith("memfd-inode") for f in cp.files)
        yield make(
            RULE,
            f"{proc_label(proc)}: memfd {'; '.join(parts)}; criu re-creates it with memfd_create() and refills it "
            + ("from memfd-inode.img" if has_image else "(no memfd-inode image found: its contents are missing)"),
            severity="info" if has_image else "error", pid=proc.pid, fd=fds[0].fd if fds else None,
            vma_start=maps[0].start if maps and not fds else None, image="memfd-inode.img",
            criu_error="" if has_image else None,
        )  # fmt: skip


RULE = Rule(
    code="CRI021",
    title="memfd (anonymous file) in the checkpoint",
    category="files",
    severity="info",
    rationale=(
        "A memfd has no path on disk: criu saves its contents and seals (memfd-inode.img) and "
        "re-creates it on restore with memfd_create(), so it travels with the checkpoint. It is "
        "reported because its contents (often a JIT cache or shared buffer) ship with the image and "
        "because a checkpoint missing its memfd images cannot be restored."
    ),
    fix="nothing to do; keep memfd-inode.img with the checkpoint",
    criu_error="Can't restore memfd: No such file or directory",
    check=check,
)
