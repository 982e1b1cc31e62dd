"""Streaming page diff: two processes' memory compared through their pages files.

Each side's pagemap is first resolved into *extents*: address ranges with the
pages file and offset that hold their content, following PE_PARENT runs down
the pre-dump chain, so pages are compared by resolved content wherever they
live. The two extent lists are swept together (cut at every VMA boundary, so
every piece belongs to one VMA) and each piece present on both sides is
compared in big chunks: one memcmp of two multi-MiB slices, and only for a
chunk that differs, a per-page pass (numpy when it is installed, else a
plain-Python one) that finds the differing pages and counts their differing
bytes. A piece that is the very same bytes of the very same file on both sides
(same device and inode, same offset) is not read at all.

With numpy (``compare_chains``, over ``pagearrays.Chain``) all of that is done
on whole arrays: no Python step per run, so a pagemap of a hundred thousand
one-page runs costs about what one run does. Pieces that follow each other in
both files make one span; long spans are compared in place in the two
mmapped files, 4 MiB chunks shared among threads (one per core), each chunk's
mapping dropped once compared; short ones (one side fragmented, the other not)
gathered a chunk of pages at a time from the mmapped files. Without numpy, or for unusual
pagemaps, ``compare`` does the same one piece at a time over ``Extent``
objects, through mmapped views whose pages are dropped from the process again
(MADV_DONTNEED) once compared. Memory stays bounded either way.
"""

from __future__ import annotations

import bisect
import mmap
import os
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Any

from ..errors import InspectError
from ..model.names import PAGE_SIZE, PE_PARENT, PE_PRESENT
from ..pages import PagesFile
from ..scanner import threads

if TYPE_CHECKING:
    from concurrent.futures import ThreadPoolExecutor

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
                    pf.path,
                    f"pages file is shorter than its pagemap: needs {off + (e - s)} bytes, has {pf.size}",
                    pf.size,
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
        self.np: ModuleType | None = None
        if use_numpy is not False:
            try:
                import numpy

                self.np = numpy
            except ImportError:
                if use_numpy:
                    raise
        self._views: dict[int, memoryview] = {}
        self._ids: dict[int, tuple[int, int]] = {}
        self._arrays: dict = {}  # id(PagesFile) -> numpy pages array over its view
        self._pool: ThreadPoolExecutor | None = None
        self.workers = threads()
        self.bytes_compared = 0
        self.bytes_skipped_same_file = 0

    def _numpy(self) -> ModuleType:
        """numpy, for the whole-array paths: the diff takes them only when it has numpy."""
        np = self.np
        assert np is not None
        return np

    # --- the sources ---------------------------------------------------------
    def _view(self, pf: PagesFile) -> memoryview:
        v = self._views.get(id(pf))
        if v is None:
            m = pf.view()
            assert m is not None  # only pages files with runs to compare are viewed, and those are not empty
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
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        self._arrays.clear()  # numpy arrays over the views go first, or the views cannot be released
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

    def compare_chains(self, ca, cb, index: VmaIndex) -> bool:
        """``compare`` over whole arrays (numpy): the same counts, hunks and statistics, no step per run.

        ``ca`` and ``cb`` are ``pagearrays.Chain``s. Returns False, having done
        nothing, when the VMA boundaries are unusual (the caller then takes the
        per-run path).
        """
        from .pagearrays import pieces, windows

        np = self._numpy()
        cuts = index.cut_array(np)
        if cuts is None:
            return False
        tallies = index.tallies
        nt = len(tallies)
        added = np.zeros(nt, dtype=np.int64)
        removed = np.zeros(nt, dtype=np.int64)
        differ_pages = np.zeros(nt, dtype=np.int64)
        differ_bytes = np.zeros(nt, dtype=np.int64)
        idents = None
        for w0, w1 in windows(np, ca, cb):
            xa, xb = ca.resolve(w0, w1), cb.resolve(w0, w1)
            if not len(xa[0]) and not len(xb[0]):
                continue
            c0 = int(np.searchsorted(cuts, w0, side="right"))
            c1 = int(np.searchsorted(cuts, w1, side="left"))
            lo, hi, ia, ib = pieces(np, xa, xb, cuts[c0:c1])
            owner = index.owner_indices(np, lo)
            npages = (hi - lo) // PAGE_SIZE
            a_in, b_in = ia >= 0, ib >= 0
            one = b_in & ~a_in
            added += np.bincount(owner[one], weights=npages[one], minlength=nt).astype(np.int64)
            one = a_in & ~b_in
            removed += np.bincount(owner[one], weights=npages[one], minlength=nt).astype(np.int64)
            both = a_in & b_in
            if not both.any():
                continue
            lo, hi, owner, ia, ib = lo[both], hi[both], owner[both], ia[both], ib[both]
            sa, oa = xa[2][ia], xa[3][ia] + (lo - xa[0][ia])
            sb, ob = xb[2][ib], xb[3][ib] + (lo - xb[0][ib])
            same = oa == ob
            if same.any():
                if idents is None:
                    idents = self._idents(np, ca.sources, cb.sources)
                same &= idents[0][sa] == idents[1][sb]
                if same.any():
                    self.bytes_skipped_same_file += int((hi - lo)[same].sum())
                    keep = ~same
                    lo, hi, owner, sa, oa, sb, ob = (x[keep] for x in (lo, hi, owner, sa, oa, sb, ob))
            if len(lo):
                at, nbytes = self._compare_pieces(ca.sources, cb.sources, lo, hi - lo, sa, oa, sb, ob, owner, tallies)
                if len(at):
                    differ_pages += np.bincount(at, minlength=nt)
                    differ_bytes += np.bincount(at, weights=nbytes, minlength=nt).astype(np.int64)
        for t in np.flatnonzero(added | removed | differ_pages).tolist():
            tally = tallies[t]
            tally.pages_added += int(added[t])
            tally.pages_removed += int(removed[t])
            tally.pages_differ += int(differ_pages[t])
            tally.bytes_differ += int(differ_bytes[t])
        return True

    def _idents(self, np, sources_a: list, sources_b: list):
        """A number per pages file of each side; equal numbers: the same file (device and inode)."""
        seen: dict = {}
        return tuple(
            np.asarray([seen.setdefault(self._identity(pf), len(seen)) for pf in srcs], dtype=np.int64)
            for srcs in (sources_a, sources_b)
        )

    def _compare_pieces(self, sources_a, sources_b, lo, length, sa, oa, sb, ob, owner, tallies):
        """Compare pieces present on both sides; returns (owner index, differing bytes) of each differing page.

        Pieces that follow each other in both files make one span. A span of
        SMALL_SPAN bytes or more is compared in chunks, each one memcmp; runs of
        shorter spans (a fragmented layout on one side only) are gathered a
        chunk's worth of pages at a time into two arrays and compared at once.
        """
        np = self._numpy()
        stream_start = np.cumsum(length) - length  # of each piece, in all pieces end to end
        brk = np.ones(len(lo), dtype=bool)
        brk[1:] = (
            (sa[1:] != sa[:-1])
            | (sb[1:] != sb[:-1])
            | (oa[1:] != oa[:-1] + length[:-1])
            | (ob[1:] != ob[:-1] + length[:-1])
        )
        first = np.flatnonzero(brk)
        span_len = np.add.reduceat(length, first)
        sp = (stream_start[first], sa[first], oa[first], sb[first], ob[first], span_len)
        where = _Where(lo, stream_start, owner, tallies)
        found_pos: list = []
        found_bytes: list = []
        big = np.flatnonzero(span_len >= SMALL_SPAN).tolist()
        prev = 0
        for j in [*big, len(first)]:
            if j > prev:
                self._gather_spans(sources_a, sources_b, tuple(x[prev:j] for x in sp), where, found_pos, found_bytes)
            if j < len(first):
                pos0, a, o_a, b, o_b, n = (int(x[j]) for x in sp)
                self._memcmp_span(sources_a[a], o_a, sources_b[b], o_b, n, pos0, where, found_pos, found_bytes)
            prev = j + 1
        if not found_pos:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        pos = np.concatenate(found_pos)
        return owner[np.searchsorted(stream_start, pos, side="right") - 1], np.concatenate(found_bytes)

    def _memcmp_span(self, pa, oa, pb, ob, length, pos0, where, found_pos, found_bytes) -> None:
        """A long span, compared a chunk at a time in place (the two files' mappings, one memcmp a chunk);
        chunks go to as many threads as there are cores (the compare releases the GIL in numpy, page faults
        in the kernel), each chunk's page-table entries are dropped after it, the hunks are taken in order."""
        step = self.chunk
        va, vb = self._view(pa), self._view(pb)
        if oa + length > len(va) or ob + length > len(vb):
            short, at = (pa, oa) if oa + length > len(va) else (pb, ob)
            raise InspectError(short.path, "pages file is shorter than its pagemap", at + length)

        def compare(off: int):
            k = min(step, length - off)
            with va[oa + off : oa + off + k] as sa, vb[ob + off : ob + off + k] as sb:
                differ = self._differing_rows(sa, sb) if sa != sb else None
            pa.release(oa + off, k)
            pb.release(ob + off, k)
            return k, differ

        offsets = range(0, length, step)
        if len(offsets) > 1 and self.workers > 1:
            if self._pool is None:
                from concurrent.futures import ThreadPoolExecutor

                self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="criu-inspect-diff")
            results = self._pool.map(compare, offsets)
        else:
            results = map(compare, offsets)
        for off, (k, differ) in zip(offsets, results):
            if differ is not None:
                rows, counts = differ
                found_pos.append(pos0 + off + rows * PAGE_SIZE)
                found_bytes.append(counts)
                if self.hunks_left > 0:
                    at = rows[: self.hunks_left] * PAGE_SIZE + off
                    self._hunks_at(where, pos0 + at, pa, oa + at, pb, ob + at)
            self.bytes_compared += k

    def _differing_rows(self, sa: memoryview, sb: memoryview):
        """(indices, differing bytes) of the pages that differ between two equal-length slices."""
        np = self._numpy()
        a64 = np.frombuffer(sa, dtype=np.uint64).reshape(-1, PAGE_SIZE // 8)
        b64 = np.frombuffer(sb, dtype=np.uint64).reshape(-1, PAGE_SIZE // 8)
        rows = np.flatnonzero((a64 != b64).any(axis=1))
        counts = self._count_bytes(a64[rows], b64[rows])
        del a64, b64  # views of the buffer go before it is filled again (or the mmap's, released)
        return rows, counts

    def _count_bytes(self, a64, b64):
        np = self._numpy()
        return np.count_nonzero(a64.view(np.uint8) != b64.view(np.uint8), axis=1).astype(np.int64)

    def _gather_spans(self, sources_a, sources_b, sp, where, found_pos, found_bytes) -> None:
        """Short spans, page by page, gathered a chunk at a time (fancy indexing of the mmapped files)."""
        np = self._numpy()
        pos0, sa, oa, sb, ob, length = sp
        npg = length // PAGE_SIZE
        total = int(npg.sum())
        base = np.cumsum(npg) - npg
        per = self.chunk // PAGE_SIZE
        for g0 in range(0, total, per):
            g1 = min(total, g0 + per)
            # pages g0..g1-1 of these spans: the span of each, and its page within the span
            j0 = int(np.searchsorted(base, g0, side="right")) - 1
            j1 = int(np.searchsorted(base, g1, side="left"))
            span = np.repeat(np.arange(j0, j1), npg[j0:j1])[g0 - int(base[j0]) : g1 - int(base[j0])]
            within = (np.arange(g0, g1) - base[span]) * PAGE_SIZE
            page_pos, page_sa, page_oa = pos0[span] + within, sa[span], oa[span] + within
            page_sb, page_ob = sb[span], ob[span] + within
            rows_all, counts_all = [], []
            pairs = np.flatnonzero(np.bincount(page_sa * len(sources_b) + page_sb))  # (np.unique imports numpy.ma)
            for pair in pairs.tolist():
                a, b = divmod(pair, len(sources_b))
                sel = np.flatnonzero((page_sa == a) & (page_sb == b)) if len(pairs) > 1 else np.arange(g1 - g0)
                fa, fb = self._pages_array(sources_a[a]), self._pages_array(sources_b[b])
                ia, ib = page_oa[sel] // PAGE_SIZE, page_ob[sel] // PAGE_SIZE
                a64, b64 = fa[ia], fb[ib]
                hit = np.flatnonzero((a64 != b64).any(axis=1))
                rows_all.append(sel[hit])
                counts_all.append(self._count_bytes(a64[hit], b64[hit]))
                del a64, b64
                for m, idx in ((sources_a[a].view(), ia), (sources_b[b].view(), ib)):
                    lo_page, hi_page = int(idx.min()), int(idx.max()) + 1
                    _drop(m, lo_page * PAGE_SIZE, (hi_page - lo_page) * PAGE_SIZE)
            rows = np.concatenate(rows_all)
            counts = np.concatenate(counts_all)
            if len(pairs) > 1:
                order = np.argsort(rows)
                rows, counts = rows[order], counts[order]
            self.bytes_compared += (g1 - g0) * PAGE_SIZE
            if len(rows):
                found_pos.append(page_pos[rows])
                found_bytes.append(counts)
                if self.hunks_left > 0:
                    for r in rows[: self.hunks_left].tolist():
                        self._hunks_at(
                            where,
                            page_pos[r : r + 1],
                            sources_a[int(page_sa[r])],
                            page_oa[r : r + 1],
                            sources_b[int(page_sb[r])],
                            page_ob[r : r + 1],
                        )

    def _pages_array(self, pf: PagesFile):
        """The whole pages file as an array of pages (rows of 512 uint64), over the mmap."""
        arr = self._arrays.get(id(pf))
        if arr is None:
            v = self._view(pf)
            np = self._numpy()
            arr = self._arrays[id(pf)] = np.frombuffer(
                v, dtype=np.uint64, count=pf.size // PAGE_SIZE * (PAGE_SIZE // 8)
            ).reshape(-1, PAGE_SIZE // 8)
        return arr

    def _hunks_at(self, where: _Where, positions, pa, offs_a, pb, offs_b) -> None:
        """Hunks of differing pages at stream ``positions`` (file offsets ``offs_a``/``offs_b``), in order."""
        va, vb = self._view(pa), self._view(pb)
        for pos, oa, ob in zip(positions.tolist(), offs_a.tolist(), offs_b.tolist()):
            if self.hunks_left <= 0:
                return
            addr, tally = where(pos)
            self._add_hunk(tally, addr, bytes(va[oa : oa + PAGE_SIZE]), bytes(vb[ob : ob + PAGE_SIZE]))

    def _compare_span(self, span: _Span) -> None:
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

    def _pages_numpy(self, sa: memoryview, sb: memoryview, span: _Span, off: int) -> None:
        np = self._numpy()
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

    def _pages_python(self, sa: memoryview, sb: memoryview, span: _Span, off: int) -> None:
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
SMALL_SPAN = 16 * PAGE_SIZE  # shorter spans are gathered page by page, not compared one memcmp each


class _Where:
    """Stream position (pieces compared end to end) -> (address, tally), for hunks."""

    __slots__ = ("lo", "stream_start", "owner", "tallies")

    def __init__(self, lo, stream_start, owner, tallies):
        self.lo, self.stream_start, self.owner, self.tallies = lo, stream_start, owner, tallies

    def __call__(self, pos: int):
        i = int(self.stream_start.searchsorted(pos, side="right")) - 1
        return int(self.lo[i]) + pos - int(self.stream_start[i]), self.tallies[int(self.owner[i])]


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
        self.tallies = [t for _, _, t in self.a] + [t for _, _, t in self.b] + [outside]
        self._arrays: tuple[Any, Any, Any, Any] | None = None  # owner_indices' (a starts, a ends, b starts, b ends)

    def cut_array(self, np):
        """``cuts()`` below ADDRESS_LIMIT as int64 (no page of the array path lies above it), or None if
        a boundary is not page-aligned."""
        from .pagearrays import ADDRESS_LIMIT

        cuts = [c for c in self.cuts() if c < ADDRESS_LIMIT]
        if any(c % PAGE_SIZE for c in cuts):
            return None
        return np.asarray(cuts, dtype=np.int64)

    def owner_indices(self, np, addrs):
        """``self(addr)`` for an array of addresses, as indices into ``self.tallies``."""
        if self._arrays is None:
            from .pagearrays import ADDRESS_LIMIT

            def clipped(edges: list[int]):
                """As int64, clipped so [vsyscall] fits: no address asked about reaches ADDRESS_LIMIT."""
                return np.asarray([min(edge, ADDRESS_LIMIT) for edge in edges], dtype=np.int64).reshape(-1)

            self._arrays = (
                clipped([start for start, _, _ in self.a]),
                clipped([end for _, end, _ in self.a]),
                clipped([start for start, _, _ in self.b]),
                clipped([end for _, end, _ in self.b]),
            )
        a_starts, a_ends, b_starts, b_ends = self._arrays
        out = np.full(len(addrs), len(self.tallies) - 1, dtype=np.int64)
        for starts, ends, base in ((b_starts, b_ends, len(self.a)), (a_starts, a_ends, 0)):  # A wins: written last
            if not len(starts):
                continue
            i = np.searchsorted(starts, addrs, side="right") - 1
            held = (i >= 0) & (addrs < ends[np.maximum(i, 0)])
            out[held] = base + i[held]
        return out

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
