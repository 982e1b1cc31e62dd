"""Dump one process's memory: which VMAs, where each page's bytes are, and a streaming reader.

What checkpointctl's ``memparse --pid`` prints, filtered (by the VMA that holds
an address, an address range, a protection) and in bounded memory at any size:
``segments`` resolves a VMA into pieces that are either bytes in some pages file
(this checkpoint's, a pre-dump parent's, a shared memory object's) or absent
with a reason, reading nothing; ``chunks`` reads the pieces in slices of at most
``CHUNK`` bytes of the mmapped pages file, dropping each slice's mapping after
it, so the RSS stays flat whatever the size. ``write_raw`` and ``hex_lines``
are the two outputs of ``criu-inspect memdump``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

from .errors import InspectError
from .model import names
from .model.names import PAGE_SIZE, PE_LAZY, PE_PARENT, PE_PRESENT
from .textfmt import human_bytes

if TYPE_CHECKING:
    from .model.checkpoint import Checkpoint
    from .model.types import Vma
    from .pages import PageMap, PagesFile

CHUNK = 1 << 20  # bytes read (and released) at a time
MAX_RAW_SPAN = 1 << 40  # a raw selection lays bytes at address - start: beyond this the holes alone are absurd

# where a segment's bytes are
PRESENT, PARENT, SHARED = "present", "parent", "shared"
# why a segment has none
NOT_DUMPED, LAZY, NOT_IN_PARENT = "not dumped", "lazy", "not in parent"
DATA = (PRESENT, PARENT, SHARED)

_VVAR, _VSYSCALL = 1 << 12, 1 << 2
_MAP_SHARED = 0x01


@dataclass(frozen=True)
class Area:
    """One selected VMA, clipped to the selection."""

    vma: Vma
    start: int
    end: int
    label: str  # what the VMA is, as /proc/PID/maps names it

    @property
    def clipped(self) -> bool:
        return (self.start, self.end) != (self.vma.start, self.vma.end)


class Segment(NamedTuple):
    """[start, end) of an area: bytes at ``offset`` of ``pages`` (where in DATA), or none (why)."""

    start: int
    end: int
    where: str
    pages: PagesFile | None = None
    offset: int = 0
    depth: int = 0  # 0: this checkpoint; n: the n-th pre-dump behind the parent link

    @property
    def length(self) -> int:
        return self.end - self.start


# --- selection ---------------------------------------------------------------


def _spelled_hex(t: str) -> bool:
    return t.startswith("0x") or bool(re.search(r"[a-f]", t)) or (len(t) > 1 and t.startswith("0"))


def parse_address(text: str, hex_default: bool = False) -> int:
    """0x-prefixed or with a hex letter or zero-padded (as /proc/PID/maps writes them): hex; else decimal
    (or hex, with ``hex_default``: the end of a range whose start is hex)."""
    t = text.strip().lower()
    try:
        value = int(t, 16) if hex_default or _spelled_hex(t) else int(t, 10)
    except ValueError:
        value = -1
    if not 0 <= value < 1 << 64:
        raise InspectError(None, f"bad address {text!r} (hex like 0x7f12a000 or 7f12a000, or decimal)")
    return value


def parse_range(text: str) -> tuple[int, int]:
    """``A-B`` (B exclusive) or ``A+LENGTH``."""
    m = re.fullmatch(r"\s*([0-9a-fA-Fx]+)\s*([-+])\s*([0-9a-fA-Fx]+)\s*", text)
    if not m:
        raise InspectError(None, f"bad range {text!r} (START-END or START+LENGTH, e.g. 7f12a000-7f12c000)")
    start = parse_address(m.group(1))
    other = parse_address(m.group(3), hex_default=_spelled_hex(m.group(1).strip().lower()))
    end = start + other if m.group(2) == "+" else other
    if end <= start:
        raise InspectError(None, f"empty range {text!r}: its end 0x{end:x} is not above its start 0x{start:x}")
    return start, end


def prot_filter(text: str) -> Callable[[int], bool]:
    """``r-x``: exactly these bits (dashes spell the absent ones); ``rw``: at least these."""
    t = text.strip().lower()
    if not t or not re.fullmatch(r"[rwx-]{1,3}", t) or len(set(t.replace("-", ""))) != len(t.replace("-", "")):
        raise InspectError(
            None, f"bad protection {text!r} (e.g. r-x for exactly read+exec, or rw for at least read+write)"
        )
    bits = sum(bit for bit, ch in names.PROT if ch in t)
    if "-" in t:
        if len(t) != 3 or any(ch not in ("-", want) for ch, want in zip(t, "rwx")):
            raise InspectError(None, f"bad protection {text!r}: three places, rwx in this order, - for absent")
        return lambda prot: prot & 7 == bits
    return lambda prot: prot & bits == bits


def select(
    cp: Checkpoint,
    pid: int,
    *,
    vma_addr: int | None = None,
    addr_range: tuple[int, int] | None = None,
    prot: str | None = None,
) -> list[Area]:
    """The VMAs of ``pid`` a memdump covers, in address order, clipped to ``addr_range``."""
    from .memsearch import vma_label

    process = cp.process(pid)
    if process is None:
        pids = [p.pid for p in cp.processes]
        have = ", ".join(map(str, pids[:20])) + (", ..." if len(pids) > 20 else "")
        raise InspectError(cp.shown_path, f"no process {pid} in this checkpoint (its pids: {have})")
    if not process.vmas:
        if f"mm-{pid}.img" in cp.files:
            cp.one(f"mm-{pid}.img")  # a damaged mm image: its own error (entry size, offset), not "no mappings"
        raise InspectError(
            os.path.join(cp.shown_path, f"mm-{pid}.img"),
            f"process {pid} ({process.state}) has no memory mappings in this checkpoint",
        )
    vmas = sorted(process.vmas, key=lambda v: v.start)
    if vma_addr is not None:
        vmas = [v for v in vmas if v.start <= vma_addr < v.end]
        if not vmas:
            raise InspectError(None, f"no VMA of pid {pid} contains 0x{vma_addr:x}")
    if prot is not None:
        keep = prot_filter(prot)
        vmas = [v for v in vmas if keep(v.prot)]
    lo, hi = addr_range if addr_range is not None else (0, 1 << 64)
    areas = [
        Area(v, max(v.start, lo), min(v.end, hi), vma_label(process, v)) for v in vmas if v.start < hi and v.end > lo
    ]
    if not areas:
        what = []
        if vma_addr is not None:
            what.append(f"the VMA holding 0x{vma_addr:x}")
        if prot is not None:
            what.append(f"protection {prot}")
        if addr_range is not None:
            what.append(f"range 0x{lo:x}-0x{hi:x}")
        raise InspectError(None, f"no memory of pid {pid} matches {' and '.join(what)}")
    return areas


# --- where the bytes are --------------------------------------------------------


def _shared_object(cp: Checkpoint, vma: Vma) -> int | None:
    """The shared memory object (pagemap-shmem-ID.img) holding a MAP_SHARED anonymous/memfd VMA's pages."""
    if not vma.flags & _MAP_SHARED or not vma.status & (names.VMA_ANON_SHARED | names.VMA_AREA_MEMFD):
        return None
    return cp.shmem_id(vma)


def segments(cp: Checkpoint, pid: int, area: Area) -> Iterator[Segment]:
    """The pieces of ``area`` in address order, covering it exactly. Reads no page.

    A private VMA's pages come from the process's pagemap, following PE_PARENT runs into the
    pre-dump chain; a shared anonymous (or memfd) one's from its object's pagemap-shmem-ID.img,
    whichever process of the tree the object was dumped with.
    """
    shmem = _shared_object(cp, area.vma)
    if shmem is not None:
        shift = area.vma.start - area.vma.pgoff  # address = offset in the object + shift

        def pagemap_of(c: Checkpoint) -> PageMap | None:
            return c.shmem_pagemap(shmem)

        yield from _resolve(cp, pagemap_of, area.start - shift, area.end - shift, shift, SHARED, 0)
        return

    def own_pagemap(c: Checkpoint) -> PageMap | None:
        if f"pagemap-{pid}.img" not in c.files and c is not cp:
            return None  # a pre-dump that did not have this process: nothing of it is there
        return c.pagemap(pid)

    yield from _resolve(cp, own_pagemap, area.start, area.end, 0, PRESENT, 0)


def _resolve(cp: Checkpoint, pagemap_of, lo: int, hi: int, shift: int, where: str, depth: int) -> Iterator[Segment]:
    """Segments of [lo, hi) in the key space of ``pagemap_of(cp)`` (addresses, or offsets in a shared object)."""
    missing = NOT_IN_PARENT if depth else NOT_DUMPED
    pm = pagemap_of(cp)
    if pm is None:
        yield Segment(lo + shift, hi + shift, missing, depth=depth)
        return
    pm.require_disjoint()  # a run hidden under another would be dumped as the wrong bytes, or as lazy
    pos = lo
    for run in pm.runs_in(lo, hi):
        a, b = max(run.start, lo, pos), min(run.end, hi)  # (pos: runs that overlap, in a damaged pagemap)
        if a >= b:
            continue
        if a > pos:
            yield Segment(pos + shift, a + shift, missing, depth=depth)
        if run.flags & PE_PRESENT:
            pf = cp.pages_file(pm.pages_id)
            yield Segment(a + shift, b + shift, PARENT if depth else where, pf, run.file_offset + a - run.start, depth)
        elif run.flags & PE_PARENT:
            parent = cp.parent
            if parent is None:
                raise InspectError(pm.pagemap_path, "pages are marked PE_PARENT but the checkpoint has no parent link")
            yield from _resolve(parent, pagemap_of, a, b, shift, where, depth + 1)
        elif run.flags & PE_LAZY:
            yield Segment(a + shift, b + shift, LAZY, depth=depth)
        else:
            yield Segment(a + shift, b + shift, missing, depth=depth)
        pos = b
    if pos < hi:
        yield Segment(pos + shift, hi + shift, missing, depth=depth)


def absent_reason(area: Area, where: str) -> str:
    """Why pages of ``area`` have no bytes in the images. CRIU decides what it dumps in criu/mem.c (the
    line numbers are CRIU 4.2's): generate_vma_iovs skips whole VMAs, should_dump_page single pages."""
    if where == LAZY:
        return "lazy: left to the lazy-pages server (criu dump --lazy-pages: PE_LAZY without PE_PRESENT, criu/page-xfer.c:495)"
    if where == NOT_IN_PARENT:
        return "in parent: marked PE_PARENT, but the pre-dump chain does not hold them"
    v = area.vma
    if v.status & _VVAR:
        return "not dumped: the kernel's vvar, provided by the kernel at restore (criu/mem.c:430)"
    if v.status & names.VMA_AREA_SYSVIPC:
        return "not dumped here: System V shared memory, whose pages are in the IPC namespace images"
    if v.status & names.VMA_FILE_SHARED and not v.status & names.VMA_AREA_MEMFD:
        return f"not dumped: a shared file mapping, whose pages are the file's ({v.path or '?'}) (criu/mem.c:421)"
    if v.status & _VSYSCALL:
        return "not dumped: the kernel's vsyscall page (criu/mem.c:421)"
    if _is_shared_anon(v):
        return "not dumped: not in the shared memory object's dump (never touched)"
    if v.status & names.VMA_FILE_PRIVATE:
        return (
            f"not dumped: the file's own pages ({v.path or '?'}), not written since mapped, or never touched "
            "(criu/mem.c:162)"
        )
    return "not dumped: never touched, or the zero page (criu/mem.c:167); they read as zeros"


def _is_shared_anon(v: Vma) -> bool:
    return bool(v.flags & _MAP_SHARED and v.status & (names.VMA_ANON_SHARED | names.VMA_AREA_MEMFD))


def where_text(seg: Segment) -> str:
    """Where a data segment's bytes are, for a person: which pages file, in which checkpoint."""
    path = seg.pages.path if seg.pages is not None else "?"
    name = os.path.basename(path)
    if seg.where == PARENT:
        return f"in the parent checkpoint{f' (pre-dump {seg.depth} back)' if seg.depth > 1 else ''}: {path}"
    if seg.where == SHARED:
        return f"in the shared memory object's pages ({name})"
    return f"present in this checkpoint ({name})"


KINDS = (PRESENT, PARENT, SHARED, LAZY, NOT_DUMPED, NOT_IN_PARENT)


def page_counts(segs) -> dict[str, int]:
    """Pages of each kind among ``segs``, in the order of KINDS (a page cut by a --range counts whole)."""
    out = dict.fromkeys(KINDS, 0)
    for s in segs:
        out[s.where] += (s.end + PAGE_SIZE - 1) // PAGE_SIZE - s.start // PAGE_SIZE
    return out


# --- reading -------------------------------------------------------------------


def chunks(segs, chunk: int = CHUNK) -> Iterator[tuple[int, bytes | None, Segment]]:
    """(address, bytes or None when absent, segment) in pieces of at most ``chunk`` bytes.

    Each slice is a copy of the mapped pages file; its mapping is dropped as soon as it is copied
    (PagesFile.release), so the pages read never pile up in the RSS.
    """
    for seg in segs:
        if seg.where not in DATA:
            yield seg.start, None, seg
            continue
        pf = seg.pages
        for at in range(0, seg.length, chunk):
            n = min(chunk, seg.length - at)
            data = pf.slice(seg.offset + at, n)
            pf.release(seg.offset + at, n)
            yield seg.start + at, data, seg


def raw_span(areas: list[Area], addr_range: tuple[int, int] | None = None) -> tuple[int, int]:
    """Addresses the raw output covers: --range's own A-B when given (offset 0 is A, as the help says, even
    when A lies between VMAs), else the first selected VMA's start to the last one's end."""
    start, end = addr_range if addr_range is not None else (areas[0].start, areas[-1].end)
    if end - start > MAX_RAW_SPAN:
        raise InspectError(
            None,
            f"the selection spans {human_bytes(end - start)} of address space "
            f"(0x{start:x}-0x{end:x}); raw output lays each byte at its address minus the start: "
            "choose part of it with --vma, --range or --prot",
        )
    return start, end


_ZEROS = bytes(CHUNK)


def write_raw(
    cp: Checkpoint, pid: int, areas: list[Area], fd: int, *, seekable: bool, addr_range: tuple[int, int] | None = None
) -> dict[str, int]:
    """Write the selection's bytes to ``fd``, byte at address A at offset A - start, absent pages as zeros:
    holes (seeked over) in a seekable file, written zeros in a pipe. Returns the page counts."""
    start, end = raw_span(areas, addr_range)
    counts: dict[str, int] = {}
    pos = start  # where a stream is (seekable files are written with pwrite)
    for area in areas:
        for addr, data, seg in chunks(segments(cp, pid, area)):
            if addr == seg.start:
                counts[seg.where] = counts.get(seg.where, 0) + page_counts([seg])[seg.where]
            if data is None:
                continue
            if seekable:
                _pwrite_all(fd, data, addr - start)
            else:
                _zeros(fd, addr - pos)
                _write_all(fd, data)
                pos = addr + len(data)
    if seekable:
        os.ftruncate(fd, end - start)
    else:
        _zeros(fd, end - pos)
    return counts


def _pwrite_all(fd: int, data: bytes, offset: int) -> None:
    view = memoryview(data)
    while view:
        n = os.pwrite(fd, view, offset)
        view, offset = view[n:], offset + n


def _write_all(fd, data) -> None:
    """To a file descriptor, or to a binary stream (an in-process caller's stdout)."""
    if not isinstance(fd, int):
        fd.write(data)
        return
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _zeros(fd: int, n: int) -> None:
    while n > 0:
        k = min(n, len(_ZEROS))
        _write_all(fd, memoryview(_ZEROS)[:k])
        n -= k


# --- hexdump -C ---------------------------------------------------------------------

_ASCII = bytes(b if 32 <= b < 127 else ord(".") for b in range(256))


def hex_row(addr: int, row: bytes, first: int = 0) -> str:
    """One hexdump -C line: absolute address, 16 bytes (``first`` blank cells before a row that starts
    mid-line), the ASCII column."""
    if first == 0 and len(row) == 16:  # the common case, in C
        hexed = row.hex(" ")
        return f"{addr:016x}  {hexed[:23]}  {hexed[24:]}  |{row.translate(_ASCII).decode('latin-1')}|"
    cells = ["  "] * first + [f"{b:02x}" for b in row]
    cells += ["  "] * (16 - len(cells))
    text = " " * first + row.translate(_ASCII).decode("latin-1")
    return f"{addr:016x}  {' '.join(cells[:8])}  {' '.join(cells[8:])}  |{text.ljust(16)}|"


def area_header(area: Area, counts: dict[str, int]) -> str:
    v = area.vma
    kind = "s" if v.flags & _MAP_SHARED else "p"
    pages = sum(counts.values())
    parts = ", ".join(f"{n} {k}" for k, n in counts.items() if n)
    clip = f" (clipped from {v.start:x}-{v.end:x})" if area.clipped else ""
    return (
        f"# {area.start:x}-{area.end:x} {names.prot_string(v.prot)}{kind} {human_bytes(area.end - area.start)} "
        f"{area.label}{clip}: {pages} page{'s' if pages != 1 else ''}, {parts}"
    )


def hex_lines(cp: Checkpoint, pid: int, areas: list[Area]) -> Iterator[str]:
    """The hexdump -C listing of the selection, VMA by VMA, in bounded memory.

    Lines starting with '#' say what follows: a VMA (range, protection, size, what it is), and
    every change of where the bytes come from, or why there are none. Repeated identical lines
    inside a piece are collapsed into '*', as hexdump does, with the piece's end address after.
    """
    for area in areas:
        yield area_header(area, page_counts(segments(cp, pid, area)))  # (segments are made twice: never all kept)
        for i, group in enumerate(_groups(segments(cp, pid, area))):
            first, last = group[0], group[-1]
            n = sum(page_counts(group).values())
            pages = f"{n} page{'s' if n != 1 else ''}"
            if first.where not in DATA:
                yield f"# {first.start:x}-{last.end:x}: {pages} {absent_reason(area, first.where)}"
                continue
            if i or first.where != PRESENT:  # the header says where the first bytes are
                yield f"# {first.start:x}-{last.end:x}: {pages} {where_text(first)}"
            yield from _hex_group(group)


_MAX_GROUP = 4096


def _groups(segs) -> Iterator[list[Segment]]:
    """Runs of adjacent segments of the same kind (and pre-dump depth), at most _MAX_GROUP each (bounded memory;
    a longer run gets another '#' line)."""
    group: list[Segment] = []
    for s in segs:
        if group and ((s.where, s.depth) != (group[-1].where, group[-1].depth) or len(group) >= _MAX_GROUP):
            yield group
            group = []
        group.append(s)
    if group:
        yield group


def _hex_group(group: list[Segment]) -> Iterator[str]:
    prev: bytes | None = None
    starred = False
    carry = b""  # bytes of a row cut by a chunk boundary (only when a --range starts mid-row)
    carry_at = 0
    end = group[-1].end
    for addr, data, _ in chunks(group, 64 << 10):
        assert data is not None  # a group of segments with bytes (the caller's DATA kinds)
        if carry:
            data, addr, carry = carry + data, carry_at, b""
        pos = 0
        if addr % 16:  # a selection that starts mid-row: a short first row, as hexdump's own alignment
            k = min(16 - addr % 16, len(data))
            yield hex_row(addr - addr % 16, data[:k], addr % 16)
            pos, prev = k, None
        n = len(data)
        if prev is not None and (n - pos) % 16 == 0 and data[pos:] == prev * ((n - pos) // 16):
            if not starred:
                yield "*"
                starred = True
            continue
        while pos + 16 <= n:
            row = data[pos : pos + 16]
            if row == prev:
                if not starred:
                    yield "*"
                    starred = True
            else:
                yield hex_row(addr + pos, row)
                prev, starred = row, False
            pos += 16
        if pos < n:
            if addr + n >= end:
                yield hex_row(addr + pos, data[pos:])
                prev, starred = None, False
            else:
                carry, carry_at = data[pos:], addr + pos
    if starred:
        yield f"{end:016x}"
