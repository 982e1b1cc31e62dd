"""The checkpoint's regular files that criu reopens by path on restore: what the --host rules look up here."""

from __future__ import annotations

import stat
import struct
from collections.abc import Iterator
from dataclasses import dataclass

from ...model import names


@dataclass
class RegFileUse:
    """A regular file criu will reopen by path, and who uses it."""

    path: str
    size: int | None
    mode: int | None
    build_id: bytes | None
    file_id: int
    users: list[tuple[int, int | None, str]]  # (pid, fd or None, what: "fd 1", "mapping at 0x...", "cwd", ...)


def reg_files(cp) -> Iterator[RegFileUse]:
    """Every regular-file entry the processes use (fds, file mappings, cwd, root, exe), once each.

    Ghost (deleted) files are left out: criu recreates them from the images.
    """
    uses: dict[int, RegFileUse] = {}

    def add(file_id: int | None, pid: int, fd: int | None, what: str) -> None:
        if file_id is None:
            return
        fe = cp.file_entry(file_id)
        if fe is None or not fe.HasField("reg"):
            return
        r = fe.reg
        if r.id in cp.remaps:
            return
        use = uses.get(r.id)
        if use is None:
            words = list(r.build_id)
            bid = struct.pack(f"<{len(words)}I", *words) if words else None
            use = uses[r.id] = RegFileUse(
                r.name, r.size if r.HasField("size") else None, r.mode if r.HasField("mode") else None, bid, r.id, []
            )
        use.users.append((pid, fd, what))

    for proc in cp.processes:
        for fd in proc.fds:
            if fd.type == "REG":
                add(fd.file_id, proc.pid, fd.fd, f"fd {fd.fd}")
        for vma in proc.vmas:
            if vma.status & (names.VMA_FILE_PRIVATE | names.VMA_FILE_SHARED) and not vma.status & names.VMA_AREA_MEMFD:
                add(vma.shmid, proc.pid, None, f"mapping at 0x{vma.start:x}")
        fs = cp._soft(cp.one, f"fs-{proc.pid}.img")
        if fs is not None:
            add(fs.cwd_id, proc.pid, None, "cwd")
            add(fs.root_id, proc.pid, None, "root")
        mm = cp._soft(cp.one, f"mm-{proc.pid}.img")
        if mm is not None and mm.HasField("exe_file_id"):
            add(mm.exe_file_id, proc.pid, None, "exe")
    return iter(uses.values())


def mode_string(mode: int) -> str:
    return f"0{mode:o} ({stat.filemode(mode)})"
