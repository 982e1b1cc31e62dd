"""A process's memory read through its pagemap, never loading a pages file whole.

``PagesFile`` mmaps ``pages-ID.img`` read-only and slices it, so memory use is
bounded by what is asked for. ``PageReader`` follows PE_PARENT runs into the
pre-dump behind the ``parent`` link and adds the process's shared anonymous
memory; it asks for those through ``PagedCheckpoint``, the little it needs of
a checkpoint, so this package never imports ``model.checkpoint`` (which
imports it): of the model it uses only the constants of ``model.names``.
"""

from __future__ import annotations

import heapq
import mmap
import os
from collections.abc import Iterator, Sequence
from typing import Any, NamedTuple, Protocol

from ..errors import InspectError
from ..model.names import PAGE_SIZE, PE_PARENT, PE_PRESENT
from ..safeio import open_regular_file, regular_size
from .pagemap import PageMap


class PagedCheckpoint(Protocol):
    """What a PageReader needs of a checkpoint (``model.checkpoint.Checkpoint`` is one)."""

    def pagemap(self, pid: int) -> PageMap: ...

    def pages_file(self, pages_id: int) -> PagesFile: ...

    def shared_memory(self, pid: int) -> Sequence[tuple[Any, PageMap]]:
        """(mm image VMA entry: start, end, pgoff; pagemap of its shared object) of the shared anonymous
        VMAs whose memory is dumped with ``pid``. The VMA is a protobuf message, hence Any."""
        ...

    @property
    def parent(self) -> PagedCheckpoint | None:
        """The pre-dump checkpoint behind the ``parent`` link, if any."""
        ...


class Extent(NamedTuple):
    """Pages with content that lie back to back in one pages file: [addr, addr+length) at file ``offset``."""

    addr: int
    length: int
    where: str  # present | parent (in a pre-dump's pages file) | shared (a shared anonymous mapping's object)
    pages: PagesFile
    offset: int

    @property
    def end(self) -> int:
        return self.addr + self.length


def _addr(ext: Extent) -> int:
    return ext.addr


def _in_file(addr: int, length: int, where: str, pf: PagesFile, offset: int, pm: PageMap) -> Iterator[Extent]:
    """The extent, if its pages file holds it; else the whole pages it does hold, then the file's error."""
    if offset + length > pf.size:
        inside = max(0, (pf.size - offset) // PAGE_SIZE * PAGE_SIZE)
        if inside:
            yield Extent(addr, inside, where, pf, offset)
        raise pages_size_error(pf.path, pf.size, pm.present_bytes)
    yield Extent(addr, length, where, pf, offset)


def pages_size_error(path: str, size: int, present_bytes: int) -> InspectError:
    """The one message for a pages file whose size disagrees with its pagemap.

    Used by the size check and by reads past the end alike, so one short file
    is one problem, however many reads ran into it.
    """
    text = (
        f"size {size} does not match the pagemap's {present_bytes // PAGE_SIZE} present pages ({present_bytes} bytes)"
    )
    if size < present_bytes:
        text += ": pages file is shorter than its pagemap"
    return InspectError(path, text)


class PagesFile:
    """A read-only mmap of pages-ID.img, opened on first read."""

    def __init__(self, path: str):
        self.path = path
        self._map: mmap.mmap | None = None
        self.size = regular_size(path)

    def slice(self, offset: int, length: int) -> bytes:
        if offset + length > self.size:
            raise InspectError(
                self.path,
                f"pages file is shorter than its pagemap: needs {offset + length} bytes, has {self.size}",
                offset,
            )
        if self._map is None:
            self._map = self._mmap()
        return self._map[offset : offset + length]

    def view(self) -> mmap.mmap | None:
        """The whole file's mapping, an ``mmap.mmap`` (None for an empty file, which cannot be mapped)."""
        if self._map is None and self.size:
            self._map = self._mmap()
        return self._map

    def _mmap(self) -> mmap.mmap:
        with open_regular_file(self.path) as fh:
            size = os.fstat(fh.fileno()).st_size
            if size != self.size:
                raise InspectError(self.path, f"pages file changed size while being read ({self.size} -> {size} bytes)")
            try:
                return mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
            except (OSError, ValueError) as exc:
                raise InspectError(self.path, f"cannot map the pages file: {exc}") from None

    def release(self, offset: int, length: int) -> None:
        """Drop the page-table entries of [offset, offset+length) of the mapping (clean, shared: they refault).

        A scan that has passed a range calls this, so the mapped pages of a
        large pages file do not pile up in the process's RSS.
        """
        m = self._map
        lo = offset - offset % PAGE_SIZE
        if m is None or not hasattr(mmap, "MADV_DONTNEED") or length <= 0:
            return
        try:
            m.madvise(mmap.MADV_DONTNEED, lo, min(length + offset - lo, self.size - lo))
        except (OSError, ValueError):
            pass

    def close(self) -> None:
        if self._map is not None:
            self._map.close()
            self._map = None


class PageReader:
    """Bytes of one process's address range, following PE_PARENT into pre-dumps."""

    def __init__(self, checkpoint: PagedCheckpoint, pid: int):
        self.checkpoint = checkpoint
        self.pid = pid
        self.pagemap = checkpoint.pagemap(pid)
        self._pages: PagesFile | None = None
        self._parent: PageReader | None = None

    @property
    def pages_file(self) -> PagesFile:
        if self._pages is None:
            self._pages = self.checkpoint.pages_file(self.pagemap.pages_id)
        return self._pages

    @property
    def parent(self) -> PageReader:
        if self._parent is None:
            parent = self.checkpoint.parent
            if parent is None:
                raise InspectError(
                    self.pagemap.pagemap_path, "pages are marked PE_PARENT but the checkpoint has no parent link"
                )
            self._parent = PageReader(parent, self.pid)
        return self._parent

    def _slice(self, offset: int, length: int) -> bytes:
        pf = self.pages_file
        if offset + length > pf.size:
            raise pages_size_error(pf.path, pf.size, self.pagemap.present_bytes)
        return pf.slice(offset, length)

    def page(self, addr: int) -> tuple[str, bytes | None]:
        """One page: (where, bytes). where is present/parent/shared/lazy/absent."""
        runs = list(self.pagemap.runs_in(addr, addr + PAGE_SIZE))
        if not runs:
            shared = next(self.shared_extents(addr, addr + PAGE_SIZE), None)
            if shared is not None:
                return "shared", shared.pages.slice(shared.offset, PAGE_SIZE)
            return "absent", None
        run = runs[0]
        if run.flags & PE_PRESENT:
            return "present", self._slice(run.file_offset + (addr - run.start), PAGE_SIZE)
        if run.flags & PE_PARENT:
            where, data = self.parent.page(addr)
            return ("parent" if data is not None else where), data
        return "lazy", None

    def read(self, start: int, length: int, fill: bytes | None = b"\0") -> bytes:
        """Bytes of [start, start+length). Missing pages are filled (or raise if fill is None)."""
        out = bytearray()
        addr = start
        end = start + length
        while addr < end:
            page_start = addr - addr % PAGE_SIZE
            chunk_end = min(end, page_start + PAGE_SIZE)
            where, data = self.page(page_start)
            if data is None:
                if fill is None:
                    raise InspectError(
                        self.pagemap.pagemap_path,
                        f"page 0x{page_start:x} of pid {self.pid} is {where}, not in the images",
                    )
                out += fill * (chunk_end - addr)
            else:
                out += data[addr - page_start : chunk_end - page_start]
            addr = chunk_end
        return bytes(out)

    def extents(self, start: int = 0, end: int = 1 << 64) -> Iterator[Extent]:
        """Where the bytes of every page with content in [start, end) lie: runs of one pages file, in address
        order, the process's shared anonymous memory included (``where`` "shared").

        Nothing is read: a scanner maps the file and scans the extents in place.
        A run that reaches past the end of its pages file yields its part inside
        the file, then raises the pages file's error.
        """
        return heapq.merge(self._own_extents(start, end), self.shared_extents(start, end), key=_addr)

    def shared_extents(self, start: int = 0, end: int = 1 << 64) -> Iterator[Extent]:
        """Extents of the shared anonymous VMAs this process is the first of the tree to map
        (``Checkpoint.shared_memory``): their pages are in pagemap-shmem-ID.img's pages file."""
        for vma, pm in self.checkpoint.shared_memory(self.pid):
            lo, hi = max(vma.start, start), min(vma.end, end)
            if lo >= hi:
                continue
            first = vma.pgoff + lo - vma.start  # offsets in the shared object
            for run in pm.runs_in(first, first + hi - lo):
                if not run.flags & PE_PRESENT:
                    continue
                a, b = max(run.start, first), min(run.end, first + hi - lo)
                yield from _in_file(
                    vma.start + a - vma.pgoff,
                    b - a,
                    "shared",
                    self.checkpoint.pages_file(pm.pages_id),
                    run.file_offset + (a - run.start),
                    pm,
                )

    def iter_shared(self, start: int = 0, end: int = 1 << 64) -> Iterator[tuple[int, bytes, str]]:
        """(address, page bytes, "shared") for every page of ``shared_extents``, in address order."""
        for ext in self.shared_extents(start, end):
            for at in range(0, ext.length, PAGE_SIZE):
                yield ext.addr + at, ext.pages.slice(ext.offset + at, PAGE_SIZE), "shared"

    def _own_extents(self, start: int, end: int) -> Iterator[Extent]:
        for run in self.pagemap.runs_in(start, end):
            lo, hi = max(run.start, start), min(run.end, end)
            if run.flags & PE_PRESENT:
                yield from _in_file(
                    lo, hi - lo, "present", self.pages_file, run.file_offset + (lo - run.start), self.pagemap
                )
            elif run.flags & PE_PARENT:
                for ext in self.parent._own_extents(lo, hi):  # (shared memory is not in any run)
                    yield ext._replace(where="parent")

    def iter_present(self, start: int = 0, end: int = 1 << 64) -> Iterator[tuple[int, bytes, str]]:
        """Yield (address, page bytes, where) for every page with content in [start, end)."""
        for run in self.pagemap.runs_in(start, end):
            lo, hi = max(run.start, start), min(run.end, end)
            if run.flags & PE_PRESENT:
                base = run.file_offset + (lo - run.start)
                n = (hi - lo) // PAGE_SIZE
                # read a run in bounded chunks
                step = 256
                for i in range(0, n, step):
                    k = min(step, n - i)
                    blob = self._slice(base + i * PAGE_SIZE, k * PAGE_SIZE)
                    for j in range(k):
                        yield lo + (i + j) * PAGE_SIZE, blob[j * PAGE_SIZE : (j + 1) * PAGE_SIZE], "present"
            elif run.flags & PE_PARENT:
                for addr, data, _ in self.parent.iter_present(lo, hi):
                    yield addr, data, "parent"
