"""Find literals in process memory at the speed of the page cache: one Hyperscan database, pages scanned in place.

Every memory search of the tool (the secrets rule, ``grep``, ``repair --fix
scrub-secrets``) starts from literals that any match must contain (``AKIA``,
``-----BEGIN ``, ``PASSWORD``, the text a user greps for). They are compiled
once into one Hyperscan (Vectorscan, through ``pyperscan``) database, which
reports every occurrence, overlapping ones included, in one pass. The bytes are
never copied: each extent of a pages file (pages that follow one another in
memory and in the file) is scanned through a memoryview of the file's mmap, in
chunks that overlap by the longest literal less one byte, so an occurrence
across chunks is found once; where two extents are neighbours in memory but not
in the file (a present run next to a run of the pre-dump parent) a small bridge
of their facing bytes is scanned too. Chunks are shared among threads (the scan
releases the GIL), and each chunk's page-table entries are dropped once
scanned, so RSS stays flat however large the pages files are.

A command that will scan all memory (``check``, ``grep``) starts a
``FileScan`` of the directory's pages files first thing (``prefetch``), so the
scan overlaps the interpreter's imports and image decoding on the other core;
``find`` then places those occurrences through the pagemap.

Callers confirm each occurrence with their own exact expression on a few bytes
around it (``secrets``, ``memsearch``): the literal pass is the expensive part,
the confirmation touches only candidates. Where Hyperscan cannot be loaded
(``available()`` is false: a platform with no wheel), callers use their
pure-Python path, which the tests also keep as the reference this scanner must
agree with.
"""

from __future__ import annotations

import bisect
import functools
import os
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .pages import Extent

CHUNK = 16 << 20  # bytes one thread scans before it drops the chunk's mapping
MAX_THREADS = 8
_INLINE = 4 << 20  # a scan smaller than this runs on the calling thread
# An occurrence then spans at most two extents (each holds whole pages): the bridges find it.
MAX_LITERAL = 4096


@functools.cache
def _engine():
    try:
        import pyperscan
    except ImportError:  # no wheel for this platform, or a CPU Hyperscan does not run on
        return None
    return pyperscan


def available() -> bool:
    return _engine() is not None


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
        ps = _engine()
        if ps is None:
            raise RuntimeError("pyperscan (Hyperscan) is not available")
        if not literals or any(not 0 < len(lit) <= MAX_LITERAL for lit in literals):
            raise ValueError(f"literals must be 1 to {MAX_LITERAL} bytes long")
        self.literals = [bytes(lit) for lit in literals]
        self.caseless = list(caseless) if caseless is not None else [False] * len(literals)
        self.lengths = [len(lit) for lit in self.literals]
        self.longest = max(self.lengths)
        # every byte escaped: a literal may hold NUL or regex syntax
        patterns = [
            ps.Pattern(
                "".join(f"\\x{b:02x}" for b in lit).encode("ascii"), *([ps.Flag.CASELESS] if nocase else []), tag=i
            )
            for i, (lit, nocase) in enumerate(zip(self.literals, self.caseless))
        ]
        self._db = ps.BlockDatabase(*patterns)
        self._continue = ps.Scan.Continue
        self._local = threading.local()
        self.file_scan: FileScan | None = None

    def prefetched(self, path: str) -> list[tuple[int, int]] | None:
        """What a ``FileScan`` of these literals found in the pages file ``path`` (None: scan it now)."""
        for thread in list(_starting):  # a prefetch still compiling will attach its scan to these literals
            thread.join()
        return self.file_scan.occurrences(path) if self.file_scan is not None else None

    def _on_match(self, ctx, ident: int, _start: int, end: int):
        if end > ctx.skip:
            ctx.out.append((end - self.lengths[ident], ident))
        return self._continue

    def scan(self, data, skip: int = 0) -> list[tuple[int, int]]:
        """(offset, literal index) of every occurrence in ``data`` that ends after its first ``skip`` bytes."""
        ctx = self._local  # one scanner (Hyperscan scratch space) per thread
        if not hasattr(ctx, "scanner"):
            ctx.scanner = self._db.build(ctx, self._on_match)
        ctx.out, ctx.skip = [], skip
        ctx.scanner.scan(data)
        out, ctx.out = ctx.out, []
        return out


_literal_sets: dict[tuple, LiteralSet] = {}
_literal_sets_lock = threading.Lock()


def literal_set(literals: Sequence[bytes], caseless: Sequence[bool]) -> LiteralSet:
    """The database of these literals, compiled once per process and shared (thread-safe: a prefetch's
    thread and the command ask for the same one, and the prefetch's result is attached to it)."""
    key = (tuple(literals), tuple(caseless))
    with _literal_sets_lock:
        if key not in _literal_sets:
            _literal_sets[key] = LiteralSet(literals, caseless)
        return _literal_sets[key]


def scan_reader(reader, literals: LiteralSet, start: int = 0, end: int = 1 << 64):
    """``find`` over a process's memory (``reader.extents``): (spans, occurrences, the error of a pages file
    that ended early or None). What lies before such an end is scanned; the caller raises the error after
    reporting it."""
    from .errors import InspectError

    extents = []
    unreadable = None
    try:
        for ext in reader.extents(start, end):
            extents.append(ext)
    except InspectError as exc:
        unreadable = exc
    spans = spans_of(extents)
    return spans, find(literals, spans), unreadable


@dataclass
class Span:
    """Extents that follow one another in memory with no gap: a match may cross from one to the next."""

    extents: list[Extent]
    starts: list[int] = field(default_factory=list)  # of the extents, for bisect

    @property
    def start(self) -> int:
        return self.extents[0].addr

    @property
    def end(self) -> int:
        return self.extents[-1].end

    def extent_at(self, addr: int) -> Extent:
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


def spans_of(extents: Iterable[Extent]) -> list[Span]:
    spans: list[Span] = []
    for ext in extents:
        if not spans or spans[-1].end != ext.addr:
            spans.append(Span([]))
        span = spans[-1]
        last = span.extents[-1] if span.extents else None
        if (
            last is not None
            and last.pages is ext.pages
            and last.where == ext.where
            and last.offset + last.length == ext.offset
        ):
            # neighbours in memory and in the file (CRIU cuts a large area into many runs): one extent
            span.extents[-1] = last._replace(length=last.length + ext.length)
            continue
        span.extents.append(ext)
        span.starts.append(ext.addr)
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
    found: list[tuple[int, int]] = []
    for span in spans:
        for ext in span.extents:
            early = literals.prefetched(ext.pages.path)
            if early is not None:
                found.extend(_in_extent(early, ext, literals.lengths))
                continue
            ext.pages.view()  # map the file here, not in a worker
            for off in range(0, ext.length, CHUNK):
                tasks.append((ext, off, min(CHUNK, ext.length - off)))
            total += ext.length
    workers = threads() if workers is None else max(1, workers)
    if workers == 1 or total < _INLINE or len(tasks) == 1:
        for task in tasks:
            found.extend(_scan_chunk(literals, back, *task))
    elif tasks:
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


def _in_extent(early: list[tuple[int, int]], ext: Extent, lengths: Sequence[int]) -> Iterator[tuple[int, int]]:
    """The occurrences of a whole-file scan (file offset, literal) that lie wholly in ``ext``, as addresses."""
    lo, hi = ext.offset, ext.offset + ext.length
    for i in range(bisect.bisect_left(early, (lo, -1)), len(early)):
        offset, ident = early[i]
        if offset >= hi:
            break
        if offset + lengths[ident] <= hi:
            yield ext.addr + offset - lo, ident


class FileScan:
    """A whole-file scan of pages files, started before the checkpoint is even decoded.

    A command that will scan all memory starts this first thing: the pages
    files are what the scan reads (a pages file holds only pages that some
    pagemap run places), so their occurrences, found while the interpreter
    still imports and decodes images on the other core, are the scan's
    result once each is placed through the pagemap (``find`` does, keeping
    those that lie wholly in one extent; the bridges between extents are
    scanned then). A file is used only if it is still the one scanned (same
    device, inode, size and mtime).
    """

    def __init__(self, literals: LiteralSet, paths: Sequence[str], workers: int | None = None):
        from concurrent.futures import ThreadPoolExecutor

        from .errors import InspectError
        from .pages import Extent, PagesFile

        self.literals = literals
        self._files: dict[str, tuple[tuple[int, int, int, int], list]] = {}
        self._results: dict[str, list[tuple[int, int]] | None] = {}
        self._pool = ThreadPoolExecutor(
            threads() if workers is None else workers, thread_name_prefix="criu-inspect-pre"
        )
        self._pages: list[PagesFile] = []
        back = literals.longest - 1
        for path in paths:
            try:
                st = os.stat(path)
                pf = PagesFile(path)  # a regular file, opened as the page reader opens it
                if not pf.size or pf.view() is None:
                    continue
            except (OSError, InspectError):
                continue  # the page reader will say what is wrong with it
            self._pages.append(pf)
            whole = Extent(0, pf.size, "present", pf, 0)  # addresses = file offsets
            chunks = [
                self._pool.submit(_scan_chunk, literals, back, whole, off, min(CHUNK, pf.size - off))
                for off in range(0, pf.size, CHUNK)
            ]
            self._files[os.path.realpath(path)] = ((st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns), chunks)
        literals.file_scan = self

    def occurrences(self, path: str) -> list[tuple[int, int]] | None:
        """(file offset, literal) of every occurrence in ``path``, sorted, or None if it was not scanned as it is."""
        if path not in self._results:  # asked once per extent: thousands of times for one file
            self._results[path] = self._collect(path)
        return self._results[path]

    def _collect(self, path: str) -> list[tuple[int, int]] | None:
        key = os.path.realpath(path)
        entry = self._files.get(key)
        if entry is None:
            return None
        ident, chunks = entry
        try:
            st = os.stat(key)
        except OSError:
            return None
        if (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns) != ident:
            return None
        return sorted(hit for chunk in chunks for hit in chunk.result())

    def close(self) -> None:
        """Stop what has not started, wait for what has (a chunk takes milliseconds), unmap."""
        self._pool.shutdown(wait=True, cancel_futures=True)
        if self.literals.file_scan is self:
            self.literals.file_scan = None
        for pf in self._pages:
            try:
                pf.close()
            except BufferError:
                pass
        self._pages = []


_starting: list[threading.Thread] = []
_file_scans: list[FileScan] = []


def prefetch(directory: str, literals: Callable[[], LiteralSet]) -> None:
    """Start a ``FileScan`` of a checkpoint directory's pages files now, in the background, on every core.

    A command that will scan all memory calls this before it decodes an
    image, so the scan overlaps the interpreter's imports and everything else
    the command does; ``find`` then takes its result for the same literal set
    (``literals()`` returns it: compiled once, kept by the caller). Nothing
    happens where Hyperscan cannot load or no pages file is there.
    """
    if not available():
        return
    try:
        names = sorted(n for n in os.listdir(directory) if n.startswith("pages-") and n.endswith(".img"))
    except OSError:
        return
    if not names:
        return

    def start() -> None:
        _file_scans.append(FileScan(literals(), [os.path.join(directory, n) for n in names]))

    thread = threading.Thread(target=start, name="criu-inspect-prefetch", daemon=True)
    _starting.append(thread)
    thread.start()


def wait_prefetch() -> None:
    """Wait until every prefetch has scanned all its files (tests; a command just asks for results)."""
    for thread in list(_starting):
        thread.join()
    for file_scan in list(_file_scans):
        for _, chunks in file_scan._files.values():
            for chunk in chunks:
                chunk.result()


def end_prefetch() -> None:
    """Stop and unmap what ``prefetch`` started (the command calls this when it is done)."""
    for thread in list(_starting):
        thread.join()
    _starting.clear()
    while _file_scans:
        _file_scans.pop().close()


def _scan_chunk(literals: LiteralSet, back: int, ext: Extent, off: int, n: int) -> list[tuple[int, int]]:
    """Occurrences that end in [off, off+n) of the extent; the chunk is read from ``back`` bytes earlier."""
    lead = min(back, off)
    lo = ext.offset + off - lead
    mapping = ext.pages.view()
    assert mapping is not None  # an extent holds bytes, so its pages file is not empty
    with memoryview(mapping) as whole, whole[lo : ext.offset + off + n] as data:
        hits = literals.scan(data, skip=lead)
    ext.pages.release(ext.offset + off, n)
    base = ext.addr + off - lead
    return [(base + start, ident) for start, ident in hits]


def _scan_bridge(literals: LiteralSet, back: int, a: Extent, b: Extent) -> Iterator[tuple[int, int]]:
    """Occurrences that start in extent ``a`` and end in its neighbour ``b`` (in memory, not in the file)."""
    left, right = min(back, a.length), min(back, b.length)
    data = a.pages.slice(a.offset + a.length - left, left) + b.pages.slice(b.offset, right)
    a.pages.release(a.offset + a.length - left, left)  # the fault mapped 64 KiB around each: drop them
    b.pages.release(b.offset, right)
    for start, ident in literals.scan(data):
        if start < left < start + literals.lengths[ident]:
            yield a.end - left + start, ident
