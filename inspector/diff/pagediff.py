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


@dataclass(slots=True)
class Extent:
    start: int
    end: int
    source: PagesFile
    offset: int  # in source, of ``start``


def resolved_extents(cp, pid: int, lo: int = 0, hi: int = 1 << 64, depth: int = 0) -> list[Extent]:
    """Where the content of each page of ``pid`` lives, through the parent chain."""
    pm = cp.pagemap(pid)
    out: list[Extent] = []
    pf = None
    for run in pm.runs_in(lo, hi):
        s, e = max(run.start, lo), min(run.end, hi)
        if run.flags & PE_PRESENT:
            if pf is None:
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


_END = 1 << 66


def _pieces(xa: list[Extent], xb: list[Extent], cuts: list[int]):
    """(lo, hi, extent_a | None, extent_b | None) over the union of both sides, cut at ``cuts``.

    One merge pass over the two sorted lists: no set of all boundaries, so a
    pagemap of a million runs costs a million steps and no more memory.
    """
    na, nb, nc = len(xa), len(xb), len(cuts)
    if not na and not nb:
        return
    ia = ib = ic = 0
    pos = min(x[0].start for x in (xa, xb) if x)
    while True:
        while ia < na and xa[ia].end <= pos:
            ia += 1
        while ib < nb and xb[ib].end <= pos:
            ib += 1
        if ia >= na and ib >= nb:
            return
        ea = xa[ia] if ia < na else None
        eb = xb[ib] if ib < nb else None
        a_in = ea is not None and ea.start <= pos
        b_in = eb is not None and eb.start <= pos
        if not a_in and not b_in:
            pos = min(ea.start if ea is not None else _END, eb.start if eb is not None else _END)
            continue
        hi = _END
        if ea is not None:
            hi = ea.end if a_in else ea.start
        if eb is not None:
            hi = min(hi, eb.end if b_in else eb.start)
        while ic < nc and cuts[ic] <= pos:
            ic += 1
        if ic < nc and cuts[ic] < hi:
            hi = cuts[ic]
        yield pos, hi, (ea if a_in else None), (eb if b_in else None)
        pos = hi


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
            try:
                v.release()
            except BufferError:  # an error unwound mid-chunk and a view of it is still alive: let GC have it
                pass
        self._views.clear()

    # --- the diff ------------------------------------------------------------
    def compare(
        self,
        xa: list[Extent],
        xb: list[Extent],
        cuts: list[int],
        owner: Callable[[int], Tally],
    ) -> None:
        """Add what differs between extents ``xa`` and ``xb`` to the tally that ``owner(addr)`` names.

        Pieces that follow each other in both pages files are compared as one
        span, whatever holes or VMA boundaries separate them in the address
        space: a pagemap of a million one-page runs costs no more than one run.
        """
        span: _Span | None = None
        for lo, hi, ea, eb in _pieces(xa, xb, cuts):
            n = hi - lo
            tally = owner(lo)
            if ea is None:
                tally.pages_added += n // PAGE_SIZE
                continue
            if eb is None:
                tally.pages_removed += n // PAGE_SIZE
                continue
            oa = ea.offset + (lo - ea.start)
            ob = eb.offset + (lo - eb.start)
            if oa == ob and (ea.source is eb.source or self._identity(ea.source) == self._identity(eb.source)):
                self.bytes_skipped_same_file += n
                continue
            if span is not None and span.follows(ea.source, oa, eb.source, ob):
                span.add(n, lo, tally)
            else:
                if span is not None:
                    self._compare_span(span)
                span = _Span(ea.source, oa, eb.source, ob)
                span.add(n, lo, tally)
        if span is not None:
            self._compare_span(span)

    def _compare_span(self, span: "_Span") -> None:
        va, vb = self._view(span.pa), self._view(span.pb)
        ma, mb = span.pa.view(), span.pb.view()
        oa, ob, length = span.oa, span.ob, span.length
        step = self.chunk
        for off in range(0, length, step):
            k = min(step, length - off)
            sa = va[oa + off : oa + off + k]
            sb = vb[ob + off : ob + off + k]
            try:
                if sa != sb:
                    if self.np is not None:
                        self._pages_numpy(sa, sb, span, off)
                    else:
                        self._pages_python(sa, sb, span, off)
            finally:
                sa.release()
                sb.release()
            self.bytes_compared += k
            _drop(ma, oa + off, k)
            _drop(mb, ob + off, k)

    def _pages_numpy(self, sa: memoryview, sb: memoryview, span: "_Span", off: int) -> None:
        np = self.np
        words = PAGE_SIZE // 8
        a64 = np.frombuffer(sa, dtype=np.uint64).reshape(-1, words)
        b64 = np.frombuffer(sb, dtype=np.uint64).reshape(-1, words)
        rows = np.flatnonzero((a64 != b64).any(axis=1))
        a8 = np.frombuffer(sa, dtype=np.uint8).reshape(-1, PAGE_SIZE)[rows]
        b8 = np.frombuffer(sb, dtype=np.uint8).reshape(-1, PAGE_SIZE)[rows]
        del a64, b64  # views of the mmap must go before the memoryviews are released
        counts = np.count_nonzero(a8 != b8, axis=1)
        positions = off + rows * PAGE_SIZE  # byte offsets within the span
        if len(span.seg_off) == 1:
            segs = np.zeros(len(rows), dtype=np.int64)
            span.tallies[0].pages_differ += len(rows)
            span.tallies[0].bytes_differ += int(counts.sum())
        else:
            segs = np.searchsorted(span.seg_off_array(np), positions, side="right") - 1
            uniq, inverse = np.unique(segs, return_inverse=True)
            pages = np.bincount(inverse)
            nbytes = np.bincount(inverse, weights=counts)
            for u, p, b in zip(uniq.tolist(), pages.tolist(), nbytes.tolist()):
                span.tallies[u].pages_differ += p
                span.tallies[u].bytes_differ += int(b)
        if self.hunks_left > 0:
            for j in range(min(len(rows), self.hunks_left)):
                seg = int(segs[j])
                addr = span.seg_addr[seg] + int(positions[j]) - span.seg_off[seg]
                self._add_hunk(span.tallies[seg], addr, a8[j].tobytes(), b8[j].tobytes())

    def _pages_python(self, sa: memoryview, sb: memoryview, span: "_Span", off: int) -> None:
        for i in range(0, len(sa), PAGE_SIZE):
            pa, pb = sa[i : i + PAGE_SIZE], sb[i : i + PAGE_SIZE]
            if pa != pb:
                a, b = bytes(pa), bytes(pb)
                seg = bisect.bisect_right(span.seg_off, off + i) - 1
                tally = span.tallies[seg]
                tally.pages_differ += 1
                tally.bytes_differ += count_differing_bytes(a, b)
                if self.hunks_left > 0:
                    self._add_hunk(tally, span.seg_addr[seg] + off + i - span.seg_off[seg], a, b)
            pa.release()
            pb.release()

    def _add_hunk(self, tally: Tally, addr: int, a: bytes, b: bytes) -> None:
        hunk = make_hunk(addr, a, b)
        if hunk is not None:
            tally.hunks.append(hunk)
            self.hunks_left -= 1


MAX_SPAN_SEGMENTS = 1 << 16  # bounds the bookkeeping of one span


class _Span:
    """Bytes that follow each other in both pages files, and the address pieces they hold.

    Segment i starts ``seg_off[i]`` bytes into the span, at address ``seg_addr[i]``,
    and counts into ``tallies[i]``.
    """

    __slots__ = ("pa", "oa", "pb", "ob", "length", "seg_off", "seg_addr", "tallies", "_array")

    def __init__(self, pa: PagesFile, oa: int, pb: PagesFile, ob: int):
        self.pa, self.oa, self.pb, self.ob = pa, oa, pb, ob
        self.length = 0
        self.seg_off: list[int] = []
        self.seg_addr: list[int] = []
        self.tallies: list[Tally] = []
        self._array = None

    def follows(self, pa: PagesFile, oa: int, pb: PagesFile, ob: int) -> bool:
        return (
            pa is self.pa
            and pb is self.pb
            and oa == self.oa + self.length
            and ob == self.ob + self.length
            and len(self.seg_off) < MAX_SPAN_SEGMENTS
        )

    def add(self, length: int, addr: int, tally: Tally) -> None:
        if self.seg_off and self.tallies[-1] is tally and self.seg_addr[-1] + (self.length - self.seg_off[-1]) == addr:
            self.length += length  # same VMA, no hole: the last segment grows
            return
        self.seg_off.append(self.length)
        self.seg_addr.append(addr)
        self.tallies.append(tally)
        self.length += length

    def seg_off_array(self, np):
        if self._array is None:
            self._array = np.asarray(self.seg_off, dtype=np.int64)
        return self._array


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
