"""How big each process's memory is, and where its pages went: the table of ``show mem``.

checkpointctl's ``memparse`` summary gives two numbers a process (the pages of
its pagemap, the size of its MAP_SHARED VMAs). This says more, from the mm and
pagemap images alone, without reading a page: the address space split private /
shared and file-backed / anonymous, and every page of every VMA in exactly one
bucket: present in this checkpoint's pages, in the parent (a pre-dump), lazy
(left to a lazy-pages server), in a shared memory object's dump, or not dumped
(CRIU skipped it: never touched, the zero page, a file's own page; criu/mem.c).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .model import names
from .model.names import PAGE_SIZE, PE_LAZY, PE_PARENT, PE_PRESENT

if TYPE_CHECKING:
    from .model.checkpoint import Checkpoint
    from .model.types import Process, Vma
    from .pages import PageMap

_MAP_SHARED = 0x01
_FILE_BACKED = names.VMA_FILE_PRIVATE | names.VMA_FILE_SHARED | names.VMA_AREA_MEMFD


@dataclass
class PageBuckets:
    """Pages of a set of VMAs; present + in_parent + lazy + shmem + not_dumped == total."""

    total: int = 0
    present: int = 0  # PE_PRESENT in the process's pagemap: bytes in this checkpoint's pages-N.img
    in_parent: int = 0  # PE_PARENT: bytes in the pre-dump behind the parent link
    lazy: int = (
        0  # PE_LAZY without PE_PRESENT (criu dump --lazy-pages, criu/page-xfer.c:495): only the page server has them
    )
    shmem: int = 0  # in the pagemap-shmem-ID.img of a shared anonymous / memfd object the VMA maps
    not_dumped: int = 0  # in no pagemap: CRIU skipped them
    marked_lazy: int = 0  # PE_LAZY, present or not: what a restore with --lazy-pages would fetch lazily

    def add(self, other: PageBuckets) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass
class MemorySizes:
    """One process (or, with pid None, the whole checkpoint)."""

    pid: int | None
    comm: str
    state: str
    vmas: int = 0
    size: int = 0  # bytes of all VMAs
    private: int = 0  # bytes of VMAs mapped MAP_PRIVATE
    shared: int = 0  # MAP_SHARED
    file_backed: int = 0  # mapping a file (memfd included)
    anonymous: int = 0  # the rest: heap, stack, anonymous mappings, vdso/vvar/vsyscall, System V shm
    pages: PageBuckets = field(default_factory=PageBuckets)


def _classify(pm: PageMap, lo: int, hi: int) -> tuple[int, int, int, int]:
    """(present, in_parent, lazy only, marked lazy) pages of ``pm``'s runs within [lo, hi)."""
    present = parent = lazy = marked = 0
    for run in pm.runs_in(lo, hi):
        n = (min(run.end, hi) - max(run.start, lo)) // PAGE_SIZE
        if run.flags & PE_LAZY:
            marked += n
        if run.flags & PE_PRESENT:
            present += n
        elif run.flags & PE_PARENT:
            parent += n
        elif run.flags & PE_LAZY:
            lazy += n
    return present, parent, lazy, marked


def _vma_pages(cp: Checkpoint, pm: PageMap | None, vma: Vma) -> PageBuckets:
    b = PageBuckets(total=(vma.end - vma.start) // PAGE_SIZE)
    shmem = None
    if vma.flags & _MAP_SHARED and vma.status & (names.VMA_ANON_SHARED | names.VMA_AREA_MEMFD):
        shmem = cp._soft(cp.shmem_id, vma)
    if shmem is not None:
        spm = cp._soft(cp.shmem_pagemap, shmem)
        if spm is not None:
            lo = vma.pgoff
            b.shmem, b.in_parent, b.lazy, b.marked_lazy = _classify(spm, lo, lo + vma.end - vma.start)
    elif pm is not None:
        b.present, b.in_parent, b.lazy, b.marked_lazy = _classify(pm, vma.start, vma.end)
    b.not_dumped = b.total - b.present - b.in_parent - b.lazy - b.shmem
    return b


def process_sizes(cp: Checkpoint, proc: Process) -> MemorySizes:
    out = MemorySizes(proc.pid, proc.comm, proc.state, vmas=len(proc.vmas))
    pm = cp._soft(cp.pagemap, proc.pid) if proc.vmas else None
    for v in proc.vmas:
        size = v.end - v.start
        out.size += size
        if v.flags & _MAP_SHARED:
            out.shared += size
        else:
            out.private += size
        if v.status & _FILE_BACKED:
            out.file_backed += size
        else:
            out.anonymous += size
        out.pages.add(_vma_pages(cp, pm, v))
    return out


def memory_sizes(cp: Checkpoint, pids=None) -> tuple[list[MemorySizes], MemorySizes]:
    """One row per process (of ``pids``, if given), in the checkpoint's order, and their total."""
    rows = [process_sizes(cp, p) for p in cp.processes if not pids or p.pid in pids]
    total = MemorySizes(None, "", "")
    for r in rows:
        for name in ("vmas", "size", "private", "shared", "file_backed", "anonymous"):
            setattr(total, name, getattr(total, name) + getattr(r, name))
        total.pages.add(r.pages)
    return rows, total
