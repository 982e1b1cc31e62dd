"""Read a process's memory through its pagemap, never loading a pages file whole.

Each ``pagemap-PID.img`` lists runs of pages (vaddr, count, flags). Runs with
PE_PRESENT are stored back to back in ``pages-ID.img``; PE_PARENT runs live in
the pre-dump checkpoint behind the ``parent`` link; PE_LAZY-only runs are not
in any file (a lazy-pages server would serve them). Pages files are mmapped and
sliced, so memory use is bounded by what is asked for.
"""

from __future__ import annotations

import bisect
import mmap
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterator

from .errors import InspectError
from .model.names import PAGE_SIZE, PE_LAZY, PE_PARENT, PE_PRESENT

if TYPE_CHECKING:
    from .model.checkpoint import Checkpoint


@dataclass(frozen=True)
class Run:
    start: int
    nr_pages: int
    flags: int
    file_offset: int  # offset in the pages file (PE_PRESENT runs), else -1

    @property
    def end(self) -> int:
        return self.start + self.nr_pages * PAGE_SIZE


def effective_flags(msg) -> int:
    """Flags of a pagemap entry, for images of any CRIU version.

    Old images say ``in_parent`` and no flags (meaning present); CRIU >= 4.2
    writes flags and the page count in field 5.
    """
    if msg.HasField("in_parent") and msg.in_parent:
        return (msg.flags if msg.HasField("flags") else 0) | PE_PARENT
    if not msg.HasField("flags"):
        return PE_PRESENT
    return msg.flags


def page_count(msg) -> int:
    if msg.HasField("nr_pages"):
        return msg.nr_pages
    return msg.compat_nr_pages


class PageMap:
    """The runs of one process, in address order, with their pages-file offsets."""

    def __init__(self, pagemap_path: str, pages_id: int, runs: list[Run]):
        self.pagemap_path = pagemap_path
        self.pages_id = pages_id
        self.runs = runs
        self._starts = [r.start for r in runs]

    @classmethod
    def from_image(cls, image) -> "PageMap":
        entries = image.entries
        if not entries:
            raise InspectError(image.path, "pagemap has no header entry", 0)
        pages_id = entries[0].message.pages_id
        runs: list[Run] = []
        offset = 0
        for entry in entries[1:]:
            msg = entry.message
            flags = effective_flags(msg)
            count = page_count(msg)
            if flags & PE_PRESENT:
                runs.append(Run(msg.vaddr, count, flags, offset))
                offset += count * PAGE_SIZE
            else:
                runs.append(Run(msg.vaddr, count, flags, -1))
        runs.sort(key=lambda r: r.start)
        return cls(image.path, pages_id, runs)

    @property
    def present_bytes(self) -> int:
        return sum(r.nr_pages for r in self.runs if r.flags & PE_PRESENT) * PAGE_SIZE

    def runs_in(self, start: int, end: int) -> Iterator[Run]:
        i = bisect.bisect_right(self._starts, start) - 1
        if i < 0:
            i = 0
        for run in self.runs[i:]:
            if run.start >= end:
                break
            if run.end > start:
                yield run

    def counts_in(self, start: int, end: int) -> tuple[int, int, int]:
        """Pages (present, lazy, in_parent) within [start, end)."""
        present = lazy = parent = 0
        for run in self.runs_in(start, end):
            lo, hi = max(run.start, start), min(run.end, end)
            n = (hi - lo) // PAGE_SIZE
            if run.flags & PE_PRESENT:
                present += n
            if run.flags & PE_LAZY:
                lazy += n
            if run.flags & PE_PARENT:
                parent += n
        return present, lazy, parent


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
        self.size = os.path.getsize(path)

    def slice(self, offset: int, length: int) -> bytes:
        if offset + length > self.size:
            raise InspectError(
                self.path, f"pages file is shorter than its pagemap: needs {offset + length} bytes, has {self.size}", offset
            )
        if self._map is None:
            with open(self.path, "rb") as fh:
                self._map = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        return self._map[offset : offset + length]

    def view(self):
        if self._map is None and self.size:
            with open(self.path, "rb") as fh:
                self._map = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        return self._map

    def close(self) -> None:
        if self._map is not None:
            self._map.close()
            self._map = None


class PageReader:
    """Bytes of one process's address range, following PE_PARENT into pre-dumps."""

    def __init__(self, checkpoint: "Checkpoint", pid: int):
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
    def parent(self) -> "PageReader":
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
        """One page: (where, bytes). where is present/parent/lazy/absent."""
        runs = list(self.pagemap.runs_in(addr, addr + PAGE_SIZE))
        if not runs:
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
                        self.pagemap.pagemap_path, f"page 0x{page_start:x} of pid {self.pid} is {where}, not in the images"
                    )
                out += fill * (chunk_end - addr)
            else:
                out += data[addr - page_start : chunk_end - page_start]
            addr = chunk_end
        return bytes(out)

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
