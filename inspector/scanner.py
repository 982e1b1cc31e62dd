"""Find literals in process memory at the speed of the page cache: one Hyperscan database, pages scanned in place.

Every memory search of the tool (the secrets rule, ``grep``, ``repair --fix
scrub-secrets``) starts from literals that any match must contain (``AKIA``,
``-----BEGIN ``, ``PASSWORD``, the text a user greps for). They are compiled
once into one Hyperscan database, which reports every occurrence, overlapping
ones included, in one pass over the bytes. The bytes are never copied: each
extent of a pages file (the pages of a run, where they lie in the file) is
scanned through a memoryview of the file's mmap, in chunks that overlap by the
longest literal less one byte, so an occurrence across a chunk is found once;
where two extents are neighbours in memory but not in the file (a present run
next to a run of the pre-dump parent) a small bridge of their facing bytes is
scanned too. Chunks are shared among threads (Hyperscan releases the GIL while
it scans), and each chunk's page-table entries are dropped once scanned, so RSS
stays flat however large the pages files are.

Callers confirm each occurrence with their own exact expression on a few bytes
around it (``secrets``, ``memsearch``): the literal pass is the expensive part,
the confirmation touches only candidates.

Where Hyperscan cannot be loaded (``available()`` is false: another CPU, a
platform with no wheel), callers use their pure-Python path, which the tests
also keep as the reference this scanner must agree with.
"""

from __future__ import annotations

import bisect
import os
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterable, Iterator, Sequence

if TYPE_CHECKING:
    from .pages import Extent

CHUNK = 16 << 20  # bytes one thread scans before it drops the chunk's mapping
MAX_THREADS = 8
_INLINE = 4 << 20  # a scan smaller than this runs on the calling thread
# An occurrence then spans at most two extents (each holds whole pages): the bridges find it.
MAX_LITERAL = 4096


def _hyperscan():
    try:
        import hyperscan
    except ImportError:  # no wheel for this platform, or a CPU Hyperscan does not run on
        return None
    return hyperscan


def available() -> bool:
    return _hyperscan() is not None


def threads() -> int:
    """The cores this process may run on (at most MAX_THREADS)."""
    try:
        n = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        n = os.cpu_count() or 1
    return max(1, min(n, MAX_THREADS))


class LiteralSet:
    """Literals (each caseless or not: ASCII case, as ``re.IGNORECASE`` on bytes) compiled into one database."""

    def __init__(self, literals: Sequence[bytes], caseless: Sequence[bool] | None = None):
        hs = _hyperscan()
        if hs is None:
            raise RuntimeError("hyperscan is not available")
        if not literals or any(not 0 < len(lit) <= MAX_LITERAL for lit in literals):
            raise ValueError(f"literals must be 1 to {MAX_LITERAL} bytes long")
        self.literals = [bytes(lit) for lit in literals]
        self.caseless = list(caseless) if caseless is not None else [False] * len(literals)
        self.lengths = [len(lit) for lit in self.literals]
        self.longest = max(self.lengths)
        # every byte escaped: expressions are C strings, a literal may hold NUL or regex syntax
        exprs = ["".join(f"\\x{b:02x}" for b in lit).encode("ascii") for lit in self.literals]
        flags = [hs.HS_FLAG_CASELESS if c else 0 for c in self.caseless]
        self._db = hs.Database(mode=hs.HS_MODE_BLOCK)
        self._db.compile(expressions=exprs, ids=list(range(len(exprs))), elements=len(exprs), flags=flags)
        self._local = threading.local()

    def _scratch(self):
        scratch = getattr(self._local, "scratch", None)
        if scratch is None:
            scratch = self._local.scratch = _hyperscan().Scratch(self._db)
        return scratch

    def scan(self, data, skip: int = 0) -> list[tuple[int, int]]:
        """(offset, literal index) of every occurrence in ``data`` that ends after its first ``skip`` bytes."""
        lengths = self.lengths
        out: list[tuple[int, int]] = []

        def on_match(ident, _from, to, _flags, _ctx):
            if to > skip:
                out.append((to - lengths[ident], ident))

        self._db.scan(data, match_event_handler=on_match, scratch=self._scratch())
        return out


@dataclass
class Span:
    """Extents that follow one another in memory with no gap: a match may cross from one to the next."""

    extents: list["Extent"]
    starts: list[int] = field(default_factory=list)  # of the extents, for bisect

    @property
    def start(self) -> int:
        return self.extents[0].addr

    @property
    def end(self) -> int:
        return self.extents[-1].end

    def extent_at(self, addr: int) -> "Extent":
        return self.extents[max(bisect.bisect_right(self.starts, addr) - 1, 0)]

    def read(self, lo: int, hi: int) -> bytes:
        """The bytes of [lo, hi) clipped to the span (the span has no holes, so they are contiguous)."""
        lo, hi = max(lo, self.start), min(hi, self.end)
        parts = []
        for i in range(max(bisect.bisect_right(self.starts, lo) - 1, 0), len(self.extents)):
            ext = self.extents[i]
            if ext.addr >= hi:
                break
            a, b = max(lo, ext.addr), min(hi, ext.end)
            if a < b:
                parts.append(ext.pages.slice(ext.offset + a - ext.addr, b - a))
        return b"".join(parts)


def spans_of(extents: Iterable["Extent"]) -> list[Span]:
    spans: list[Span] = []
    for ext in extents:
        if not spans or spans[-1].end != ext.addr:
            spans.append(Span([]))
        spans[-1].extents.append(ext)
        spans[-1].starts.append(ext.addr)
    return spans


def by_span(spans: Sequence[Span], found: Sequence[tuple[int, int]]) -> Iterator[tuple[Span, list[tuple[int, int]]]]:
    """``find``'s occurrences grouped by the span they start in (both in address order)."""
    i = 0
    for span in spans:
        group = []
        while i < len(found) and found[i][0] < span.end:
            if found[i][0] >= span.start:
                group.append(found[i])
            i += 1
        if group:
            yield span, group


def find(literals: LiteralSet, spans: Sequence[Span], *, workers: int | None = None) -> list[tuple[int, int]]:
    """(address, literal index) of every occurrence of every literal in the spans, sorted by address."""
    back = literals.longest - 1
    tasks = []  # (extent, offset in the extent, length)
    total = 0
    for span in spans:
        for ext in span.extents:
            ext.pages.view()  # map the file here, not in a worker
            for off in range(0, ext.length, CHUNK):
                tasks.append((ext, off, min(CHUNK, ext.length - off)))
            total += ext.length
    found: list[tuple[int, int]] = []
    workers = threads() if workers is None else max(1, workers)
    if workers == 1 or total < _INLINE or len(tasks) == 1:
        for task in tasks:
            found.extend(_scan_chunk(literals, back, *task))
    else:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(min(workers, len(tasks)), thread_name_prefix="criu-inspect-scan") as pool:
            for hits in pool.map(lambda t: _scan_chunk(literals, back, *t), tasks):
                found.extend(hits)
    if back:
        for span in spans:
            for a, b in zip(span.extents, span.extents[1:]):
                found.extend(_scan_bridge(literals, back, a, b))
    found.sort()
    return found


def _scan_chunk(literals: LiteralSet, back: int, ext: "Extent", off: int, n: int) -> list[tuple[int, int]]:
    """Occurrences that end in [off, off+n) of the extent; the chunk is read from ``back`` bytes earlier."""
    lead = min(back, off)
    lo = ext.offset + off - lead
    with memoryview(ext.pages.view()) as whole, whole[lo : ext.offset + off + n] as data:
        hits = literals.scan(data, skip=lead)
    ext.pages.release(ext.offset + off, n)
    base = ext.addr + off - lead
    return [(base + start, ident) for start, ident in hits]


def _scan_bridge(literals: LiteralSet, back: int, a: "Extent", b: "Extent") -> Iterator[tuple[int, int]]:
    """Occurrences that start in extent ``a`` and end in its neighbour ``b`` (in memory, not in the file)."""
    left = min(back, a.length)
    data = a.pages.slice(a.offset + a.length - left, left) + b.pages.slice(b.offset, min(back, b.length))
    for start, ident in literals.scan(data):
        if start < left < start + literals.lengths[ident]:
            yield a.end - left + start, ident
