"""Who uses which entry of files.img: fds, cwd/root, exe, file mappings, ttys, fifos, remaps.

A fix that drops or rewrites a file entry must know every user of its id,
or the restore dies on a dangling reference.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from ..model import names

REMAP_LINKED, REMAP_GHOST, REMAP_PROCFS = 0, 1, 2  # remap_file_path_entry.remap_type


@dataclass(frozen=True)
class FileUse:
    kind: str  # fd | cwd | root | exe | mmap | tty-regf | fifo-regf | remap
    pid: int | None = None
    fd: int | None = None
    detail: str = ""  # open flags or mapping protection, in words

    def describe(self) -> str:
        if self.kind == "fd":
            return f"pid {self.pid} fd {self.fd}" + (f" ({self.detail})" if self.detail else "")
        if self.kind in ("cwd", "root", "exe"):
            return f"pid {self.pid} {self.kind}"
        if self.kind == "mmap":
            return f"pid {self.pid} mapping {self.detail}"
        return f"{self.kind} {self.detail}".strip()


def files_id_to_pids(cp) -> dict[int, list[int]]:
    out: dict[int, list[int]] = defaultdict(list)
    for entry in cp.pstree:
        ids = cp.one(f"ids-{entry.pid}.img")
        if ids is not None and ids.HasField("files_id"):
            out[ids.files_id].append(entry.pid)
    return out


def file_uses(cp) -> dict[int, list[FileUse]]:
    """file id -> its users, read from the input model's images."""
    uses: dict[int, list[FileUse]] = defaultdict(list)
    for files_id, pids in files_id_to_pids(cp).items():
        for fi in cp.entries(f"fdinfo-{files_id}.img"):
            for pid in pids:
                uses[fi.id].append(FileUse("fd", pid, fi.fd))
    for entry in cp.pstree:
        pid = entry.pid
        fs = cp.one(f"fs-{pid}.img")
        if fs is not None:
            uses[fs.cwd_id].append(FileUse("cwd", pid))
            uses[fs.root_id].append(FileUse("root", pid))
        mm = cp.one(f"mm-{pid}.img")
        if mm is not None:
            if mm.HasField("exe_file_id"):
                uses[mm.exe_file_id].append(FileUse("exe", pid))
            for v in mm.vmas:
                if v.status & (names.VMA_FILE_PRIVATE | names.VMA_FILE_SHARED | names.VMA_AREA_MEMFD):
                    shared = "shared" if v.status & names.VMA_FILE_SHARED else "private"
                    uses[v.shmid].append(
                        FileUse("mmap", pid, None, f"0x{v.start:x}-0x{v.end:x} {names.prot_string(v.prot)} {shared}")
                    )
    for fe in cp.files_by_id.values():
        if fe.HasField("tty") and fe.tty.HasField("regf_id"):
            uses[fe.tty.regf_id].append(FileUse("tty-regf", detail=f"of tty file {fe.id}"))
        if fe.HasField("fifo") and fe.fifo.HasField("regf_id"):
            uses[fe.fifo.regf_id].append(FileUse("fifo-regf", detail=f"of fifo file {fe.id}"))
    for remap in cp.remaps.values():
        uses[remap.orig_id].append(FileUse("remap", detail=f"remapped to {remap.remap_id}"))
        if remap.remap_type == REMAP_LINKED:  # (an unset remap_type reads as LINKED, its default)
            uses[remap.remap_id].append(FileUse("remap", detail=f"linked copy of file {remap.orig_id}"))
    return uses
