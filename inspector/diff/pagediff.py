"""Streaming page diff: two processes' memory compared through the mmapped pages files.

Each side's pagemap is first resolved into *extents*: address ranges with the
pages file and offset that hold their content, following PE_PARENT runs down
the pre-dump chain, so pages are compared by resolved content wherever they
live. The two extent lists are swept together (cut at every VMA boundary, so
every piece belongs to one VMA) and each piece present on both sides is
compared in big chunks: one memcmp of two multi-MiB memoryview slices, and only
for a chunk that differs, a per-page pass (numpy when it is installed, else a
plain-Python one) that finds the differing pages and counts their differing
bytes. Pages that were read are dropped from the process again
(MADV_DONTNEED), so memory stays bounded whatever the size of the files. A
piece that is the very same bytes of the very same file on both sides (same
device and inode, same offset) is not read at all.
"""

from __future__ import annotations

import bisect
import mmap
import os
from dataclasses import dataclass
from typing import Callable

from ..errors import InspectError
from ..model.names import PAGE_SIZE, PE_PARENT, PE_PRESENT
from ..pages import PagesFile

CHUNK = 4 << 20  # bytes compared with one memcmp; also the unit dropped from RSS
HUNK_CONTEXT = 64  # bytes of hexdump shown per hunk


@dataclass
class Extent:
    start: int
    end: int
    source: PagesFile
    offset: int  # in source, of ``start``


def resolved_extents(cp, pid: int, lo: int = 0, hi: int = 1 << 64, depth: int = 0) -> list[Extent]:
    """Where the content of each page of ``pid`` lives, through the parent chain."""
    pm = cp.pagemap(pid)
    out: list[Extent] = []
    for run in pm.runs_in(lo, hi):
        s, e = max(run.start, lo), min(run.end, hi)
        if run.flags & PE_PRESENT:
            pf = cp.pages_file(pm.pages_id)
            off = run.file_offset + (s - run.start)
            if off + (e - s) > pf.size:
                raise InspectError(
                    pf.path, f"pages file is shorter than its pagemap: needs {off + (e - s)} bytes, has {pf.size}", pf.size
                )
            out.append(Extent(s, e, pf, off))
        elif run.flags & PE_PARENT:
            parent = cp.parent
            if parent is None:
                raise InspectError(
                    pm.pagemap_path, f"pages at 0x{s:x} are marked PE_PARENT but the checkpoint has no parent link"
                )
            out.extend(resolved_extents(parent, pid, s, e, depth + 1))
        # PE_LAZY-only runs have no content in any file: they count as absent
    for prev, cur in zip(out, out[1:]):
        if cur.start < prev.end:
            raise InspectError(pm.pagemap_path, f"pagemap runs overlap at 0x{cur.start:x}")
    return out


def _pieces(xa: list[Extent], xb: list[Extent], cuts: list[int]):
    """(lo, hi, extent_a | None, extent_b | None) over the union of both sides, cut at ``cuts``."""
    points = {x.start for x in xa} | {x.end for x in xa} | {x.start for x in xb} | {x.end for x in xb}
    if not points:
        return
    first, last = min(points), max(points)
    points.update(c for c in cuts if first < c < last)
    edges = sorted(points)
    ia = ib = 0
    for lo, hi in zip(edges, edges[1:]):
        while ia < len(xa) and xa[ia].end <= lo:
            ia += 1
        while ib < len(xb) and xb[ib].end <= lo:
            ib += 1
        ea = xa[ia] if ia < len(xa) and xa[ia].start <= lo else None
        eb = xb[ib] if ib < len(xb) and xb[ib].start <= lo else None
        if ea is not None or eb is not None:
            yield lo, hi, ea, eb


class Tally:
    """What the page diff found in one VMA (or outside every VMA)."""

    __slots__ = ("pages_differ", "pages_added", "pages_removed", "bytes_differ", "hunks")

    def __init__(self):
        self.pages_differ = self.pages_added = self.pages_removed = self.bytes_differ = 0
        self.hunks: list = []


def count_differing_bytes(a: bytes, b: bytes) -> int:
    """Bytes that differ between two equal-length strings, without numpy.

    XOR as one big int, fold each byte's 8 bits into its lowest bit, keep only
    those bits and count them.
    """
    x = int.from_bytes(a, "little") ^ int.from_bytes(b, "little")
    if not x:
        return 0
    x |= x >> 4
    x |= x >> 2
    x |= x >> 1
    return (x & _low_bits(len(a))).bit_count()


_LOW_BITS: dict[int, int] = {}


def _low_bits(n: int) -> int:
    mask = _LOW_BITS.get(n)
    if mask is None:
        mask = _LOW_BITS[n] = int.from_bytes(b"\x01" * n, "little")
    return mask


def make_hunk(addr: int, a: bytes, b: bytes):
    """The first differing bytes of one page, 16-byte aligned, at most HUNK_CONTEXT long."""
    from .result import Hunk

    i = next((k for k in range(len(a)) if a[k] != b[k]), None)
    if i is None:
        return None
    lo = i - i % 16
    hi = min(len(a), lo + HUNK_CONTEXT)
    wa, wb = a[lo:hi], b[lo:hi]
    return Hunk(addr + lo, wa.hex(), wb.hex(), sum(1 for x, y in zip(wa, wb) if x != y))


class PageDiffer:
    """Compares pages of process pairs; one instance per diff (it owns the hunk budget)."""

    def __init__(self, max_hunks: int = 0, use_numpy: bool | None = None, chunk: int = CHUNK):
        self.hunks_left = max_hunks
        self.chunk = chunk - chunk % PAGE_SIZE or PAGE_SIZE
        self.np = None
        if use_numpy is not False:
            try:
                import numpy

                self.np = numpy
            except ImportError:
                if use_numpy:
                    raise
        self._views: dict[int, memoryview] = {}
        self._ids: dict[int, tuple[int, int]] = {}
        self.bytes_compared = 0
        self.bytes_skipped_same_file = 0

    # --- the sources ---------------------------------------------------------
    def _view(self, pf: PagesFile) -> memoryview:
        v = self._views.get(id(pf))
        if v is None:
            m = pf.view()
            try:
                m.madvise(mmap.MADV_SEQUENTIAL)
            except (AttributeError, OSError):
                pass
            v = self._views[id(pf)] = memoryview(m)
        return v

    def _identity(self, pf: PagesFile) -> tuple[int, int]:
        ident = self._ids.get(id(pf))
        if ident is None:
            st = os.stat(pf.path)
            ident = self._ids[id(pf)] = (st.st_dev, st.st_ino)
        return ident

    def close(self) -> None:
        for v in self._views.values():
            v.release()
        self._views.clear()

    # --- the diff ------------------------------------------------------------
    def compare(
        self,
        xa: list[Extent],
        xb: list[Extent],
        cuts: list[int],
        owner: Callable[[int], Tally],
        guard_a=None,
        guard_b=None,
    ) -> None:
        """Add what differs between extents ``xa`` and ``xb`` to the tally that ``owner(addr)`` names."""
        for lo, hi, ea, eb in _pieces(xa, xb, cuts):
            n = (hi - lo) // PAGE_SIZE
            tally = owner(lo)
            if ea is None:
                tally.pages_added += n
                continue
            if eb is None:
                tally.pages_removed += n
                continue
            oa = ea.offset + (lo - ea.start)
            ob = eb.offset + (lo - eb.start)
            if oa == ob and (ea.source is eb.source or self._identity(ea.source) == self._identity(eb.source)):
                self.bytes_skipped_same_file += hi - lo
                continue
            self._compare_span(ea.source, oa, eb.source, ob, hi - lo, lo, tally)

    def _compare_span(self, pa: PagesFile, oa: int, pb: PagesFile, ob: int, length: int, addr: int, tally: Tally):
        va, vb = self._view(pa), self._view(pb)
        ma, mb = pa.view(), pb.view()
        step = self.chunk
        for off in range(0, length, step):
            k = min(step, length - off)
            sa = va[oa + off : oa + off + k]
            sb = vb[ob + off : ob + off + k]
            try:
                if sa != sb:
                    if self.np is not None:
                        self._pages_numpy(sa, sb, addr + off, tally)
                    else:
                        self._pages_python(sa, sb, addr + off, tally)
            finally:
                sa.release()
                sb.release()
            self.bytes_compared += k
            _drop(ma, oa + off, k)
            _drop(mb, ob + off, k)

    def _pages_numpy(self, sa: memoryview, sb: memoryview, addr: int, tally: Tally) -> None:
        np = self.np
        words = PAGE_SIZE // 8
        a64 = np.frombuffer(sa, dtype=np.uint64).reshape(-1, words)
        b64 = np.frombuffer(sb, dtype=np.uint64).reshape(-1, words)
        rows = np.flatnonzero((a64 != b64).any(axis=1))
        a8 = np.frombuffer(sa, dtype=np.uint8).reshape(-1, PAGE_SIZE)[rows]
        b8 = np.frombuffer(sb, dtype=np.uint8).reshape(-1, PAGE_SIZE)[rows]
        del a64, b64  # views of the mmap must go before the memoryviews are released
        tally.pages_differ += len(rows)
        tally.bytes_differ += int(np.count_nonzero(a8 != b8))
        if self.hunks_left > 0:
            for j, row in enumerate(rows[: self.hunks_left]):
                self._add_hunk(tally, addr + int(row) * PAGE_SIZE, a8[j].tobytes(), b8[j].tobytes())

    def _pages_python(self, sa: memoryview, sb: memoryview, addr: int, tally: Tally) -> None:
        for i in range(0, len(sa), PAGE_SIZE):
            pa, pb = sa[i : i + PAGE_SIZE], sb[i : i + PAGE_SIZE]
            if pa != pb:
                a, b = bytes(pa), bytes(pb)
                tally.pages_differ += 1
                tally.bytes_differ += count_differing_bytes(a, b)
                if self.hunks_left > 0:
                    self._add_hunk(tally, addr + i, a, b)
            pa.release()
            pb.release()

    def _add_hunk(self, tally: Tally, addr: int, a: bytes, b: bytes) -> None:
        hunk = make_hunk(addr, a, b)
        if hunk is not None:
            tally.hunks.append(hunk)
            self.hunks_left -= 1


def _drop(m, offset: int, length: int) -> None:
    """Let go of pages already compared: file pages mapped in count towards RSS."""
    try:
        m.madvise(mmap.MADV_DONTNEED, offset, length)
    except (AttributeError, OSError, ValueError):
        pass


class VmaIndex:
    """Address -> the tally of the VMA that holds it (side A's VMAs first, then side B's)."""

    def __init__(self, spans_a: list[tuple[int, int, Tally]], spans_b: list[tuple[int, int, Tally]], outside: Tally):
        self.a = sorted(spans_a, key=lambda s: s[0])
        self.b = sorted(spans_b, key=lambda s: s[0])
        self.a_starts = [s[0] for s in self.a]
        self.b_starts = [s[0] for s in self.b]
        self.outside = outside

    def cuts(self) -> list[int]:
        out = set()
        for s, e, _ in self.a + self.b:
            out.add(s)
            out.add(e)
        return sorted(out)

    def __call__(self, addr: int) -> Tally:
        for spans, starts in ((self.a, self.a_starts), (self.b, self.b_starts)):
            i = bisect.bisect_right(starts, addr) - 1
            if i >= 0 and spans[i][0] <= addr < spans[i][1]:
                return spans[i][2]
        return self.outside
