"""Search process memory of a checkpoint, in bounded windows, through the page reader.

What checkpointctl's memparse does, plus: the VMA each hit lies in, and pages
that live in the pre-dump chain (PE_PARENT) searched like the rest. Used by
``criu-inspect grep`` and (its windowing) by the secrets scanner.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from .errors import InspectError
from .model import names
from .model.names import PAGE_SIZE

if TYPE_CHECKING:
    from . import scanner
    from .model.checkpoint import Checkpoint
    from .model.types import Process, Vma

WINDOW_PAGES = 64
# A regex match longer than this that straddles two windows may be missed.
MAX_REGEX_MATCH = 4096

Payload = TypeVar("Payload")  # what a finder says of each match; windowed_matches hands it back
# find(buffer, base address, start position) -> [(start address, end address, payload)]
Finder = Callable[[bytes, int, int], Sequence[tuple[int, int, Payload]]]


def _windows(
    pages: Iterable[tuple[int, bytes, str]], window_pages: int
) -> Iterator[tuple[int, bytes, bool, dict[int, str]]]:
    """Adjacent pages grouped into windows: (start, bytes, next window is adjacent, where each page that is
    not the process's own present page came from: "parent" or "shared")."""
    start = None
    chunks: list[bytes] = []
    elsewhere: dict[int, str] = {}
    it = iter(pages)
    while True:
        try:
            addr, data, where = next(it)
        except StopIteration:
            break
        except Exception:
            # a page that cannot be read (a short pages file): search what was read before it, then fail
            if start is not None:
                yield start, b"".join(chunks), False, elsewhere
            raise
        if start is not None and (addr != start + len(chunks) * PAGE_SIZE or len(chunks) >= window_pages):
            yield start, b"".join(chunks), addr == start + len(chunks) * PAGE_SIZE, elsewhere
            start, chunks, elsewhere = None, [], {}
        if start is None:
            start = addr
        if where != "present":
            elsewhere[addr] = where
        chunks.append(data)
    if start is not None:
        yield start, b"".join(chunks), False, elsewhere


def windowed_matches(
    pages: Iterable[tuple[int, bytes, str]], find: Finder[Payload], overlap: int, *, window_pages: int = WINDOW_PAGES
) -> Iterator[tuple[int, int, Payload, str]]:
    """Non-overlapping matches over a stream of (address, page, where), in address order.

    Adjacent pages form one run. Each window is searched with the last
    ``overlap`` bytes (+ a little context for boundary checks) of the previous
    one in front; a match starting in a window's last ``overlap`` bytes is left
    for the next window, which sees it whole. So a match no longer than
    ``overlap`` is found exactly once wherever page or window boundaries fall,
    and memory stays at one window plus the overlap. Yields (start, end,
    payload, where) with where the page its start lies in came from: "present",
    "parent" (the pre-dump chain) or "shared" (a shared anonymous mapping).
    """
    carry = b""
    carry_start = 0
    carry_elsewhere: dict[int, str] = {}
    last_end = -1
    for start, data, continues, elsewhere in _windows(pages, window_pages):
        if carry and carry_start + len(carry) == start:
            buf, base = carry + data, carry_start
            elsewhere = {**carry_elsewhere, **elsewhere}
        else:
            buf, base, last_end = data, start, -1
        limit = base + len(buf) - overlap if continues else base + len(buf)
        # one byte early, so a finder that consumes a delimiter before its match still sees it
        pos = max(0, last_end - base - 1)
        found = sorted((m for m in find(buf, base, pos) if m[0] < limit), key=lambda m: (m[0], -(m[1] - m[0])))
        for s, e, payload in found:
            if s < last_end:
                continue
            last_end = e
            yield s, e, payload, elsewhere.get(s - s % PAGE_SIZE, "present")
        if continues:
            keep = min(len(buf), overlap + 256)
            carry, carry_start = buf[-keep:], base + len(buf) - keep
            carry_elsewhere = {a: w for a, w in elsewhere.items() if a + PAGE_SIZE > carry_start}
            last_end = max(last_end, limit)
        else:
            carry, carry_elsewhere = b"", {}


RELEASE_EVERY = 32 << 20


def _release(reader) -> None:
    """Drop the page-table entries of the pages files' mmaps (clean, shared: they refault from the page cache).

    Slices are copies, so nothing refers into the mapping; without this the
    mapped pages of a scanned file count toward RSS until the scan ends.
    """
    while reader is not None:
        pf = reader._pages
        if pf is not None:
            pf.release(0, pf.size)
        reader = reader._parent


def memory_pages(reader, start: int = 0, end: int = 1 << 64) -> Iterator[tuple[int, bytes, str]]:
    """Every page with content, in address order: the process's own (and its pre-dump chain's), merged with
    the shared anonymous memory it maps (``where`` "shared"), in bounded memory."""
    import heapq

    return heapq.merge(bounded_pages(reader, start, end), reader.iter_shared(start, end), key=_first)


def _first(item):
    return item[0]


def bounded_pages(reader, start: int = 0, end: int = 1 << 64) -> Iterator[tuple[int, bytes, str]]:
    """``reader.iter_present`` whose memory stays flat however large the pages files are."""
    seen = 0
    for item in reader.iter_present(start, end):
        yield item
        seen += PAGE_SIZE
        if seen >= RELEASE_EVERY:
            _release(reader)
            seen = 0
    _release(reader)


# --- grep ------------------------------------------------------------------------


@dataclass
class Hit:
    pid: int
    addr: int
    length: int
    where: str  # present | parent
    vma: Vma | None
    vma_label: str
    context_start: int
    context: bytes

    def to_dict(self) -> dict:
        v = self.vma
        return {
            "pid": self.pid,
            "address": self.addr,
            "address_hex": f"0x{self.addr:x}",
            "length": self.length,
            "where": self.where,
            "vma": None
            if v is None
            else {
                "start": v.start,
                "end": v.end,
                "start_hex": f"0x{v.start:x}",
                "end_hex": f"0x{v.end:x}",
                "prot": names.prot_string(v.prot),
                "path": v.path,
                "label": self.vma_label,
                "offset": self.addr - v.start,
            },
            "context_start": self.context_start,
            "context_start_hex": f"0x{self.context_start:x}",
            "context_hex": self.context.hex(),
        }


def _literal_bytes(pattern: str | bytes) -> bytes:
    return pattern.encode("utf-8", "surrogateescape") if isinstance(pattern, str) else pattern


def compile_pattern(pattern: str | bytes, *, regex: bool = False, ignore_case: bool = False) -> re.Pattern:
    """A bytes regex for a text pattern (literal unless ``regex``); non-ASCII text is matched as UTF-8."""
    raw = _literal_bytes(pattern)
    if not regex:
        raw = re.escape(raw)
    flags = re.DOTALL | (re.IGNORECASE if ignore_case else 0)
    try:
        return re.compile(raw, flags)
    except re.error as exc:
        raise InspectError(None, f"bad regular expression {pattern!r}: {exc}") from None


def vma_of(process: Process, addr: int) -> Vma | None:
    for vma in process.vmas:
        if vma.start <= addr < vma.end:
            return vma
    return None


def vma_label(process: Process, vma: Vma | None) -> str:
    """What a VMA is, as /proc/PID/maps would name it."""
    if vma is None:
        return "(outside every VMA)"
    if vma.path:
        return vma.path
    status = vma.status
    stack = process.mm.get("mm_start_stack")
    if status & (1 << 1) or (stack is not None and vma.start <= stack < vma.end):
        return "[stack]"
    if status & (1 << 5):
        return "[heap]"
    if status & (1 << 3):
        return "[vdso]"
    if status & (1 << 12):
        return "[vvar]"
    if status & (1 << 2):
        return "[vsyscall]"
    if status & names.VMA_AREA_SYSVIPC:
        return "[sysvipc]"
    if status & names.VMA_ANON_SHARED:
        return "[anon shared]"
    return "[anon]"


def search_process(
    checkpoint: Checkpoint,
    pid: int,
    pattern: re.Pattern,
    *,
    context: int = 32,
    literal_length: int | None = None,
    literal: bytes | None = None,
    ignore_case: bool = False,
) -> Iterator[Hit]:
    """Hits of ``pattern`` in the memory of ``pid``; a ``literal`` (the pattern's text) is found by the scanner."""
    from . import scanner

    process = checkpoint.process(pid)
    reader = checkpoint.page_reader(pid)
    if literal is not None and scanner.available() and len(literal) <= scanner.MAX_LITERAL:
        found = _literal_matches(reader, literal, ignore_case)
    else:
        overlap = max(1, literal_length - 1) if literal_length is not None else MAX_REGEX_MATCH

        def find(buf: bytes, base: int, pos: int):
            return [(base + m.start(), base + max(m.end(), m.start() + 1), None) for m in pattern.finditer(buf, pos)]

        found = ((s, e, w) for s, e, _, w in windowed_matches(memory_pages(reader), find, overlap))
    for start, end, where in found:
        vma = vma_of(process, start) if process is not None else None
        lo = start - context
        hi = end + context
        if vma is not None:
            lo, hi = max(lo, vma.start), min(hi, vma.end)
        lo = max(lo, 0)
        yield Hit(
            pid,
            start,
            end - start,
            where,
            vma,
            vma_label(process, vma) if process else "?",
            lo,
            reader.read(lo, hi - lo),
        )


def literal_set(literal: bytes, ignore_case: bool) -> scanner.LiteralSet:
    """The one-literal database of a grep (compiled once; a prefetch asks for the same one)."""
    from . import scanner as _scanner

    return _scanner.literal_set([literal], [ignore_case])


def prefetch(directory: str, pattern: str | bytes, *, ignore_case: bool = False) -> None:
    """Start the search for a literal ``pattern`` in a checkpoint directory's pages files now (grep's first step)."""
    from . import scanner as _scanner

    literal = _literal_bytes(pattern)
    if 0 < len(literal) <= _scanner.MAX_LITERAL:
        _scanner.prefetch(directory, lambda: literal_set(literal, ignore_case))


def _literal_matches(reader, literal: bytes, ignore_case: bool) -> Iterator[tuple[int, int, str]]:
    """(start, end, where) of each occurrence of ``literal``, leftmost first and not overlapping, as ``re`` finds them.

    A pages file that ends early: the occurrences before its end, then its error.
    """
    from . import scanner

    spans, found, unreadable = scanner.scan_reader(reader, literal_set(literal, ignore_case))
    n = len(literal)
    for span, group in scanner.by_span(spans, found):
        last_end = -1
        for start, _ in group:
            if start >= last_end and start + n <= span.end:
                last_end = start + n
                yield start, last_end, span.extent_at(start).where
    if unreadable is not None:
        raise unreadable


def search(
    checkpoint: Checkpoint,
    pattern: str | bytes,
    *,
    regex: bool = False,
    ignore_case: bool = False,
    pids: Iterable[int] | None = None,
    context: int = 32,
) -> Iterator[Hit]:
    """Every occurrence of ``pattern`` in the memory of each process (or of ``pids``), in pid then address order."""
    rx = compile_pattern(pattern, regex=regex, ignore_case=ignore_case)
    literal_length = None if regex else len(_literal_bytes(pattern))
    wanted = set(pids) if pids else None
    for proc in checkpoint.processes:
        if wanted is not None and proc.pid not in wanted:
            continue
        yield from search_process(
            checkpoint,
            proc.pid,
            rx,
            context=context,
            literal_length=literal_length,
            literal=None if regex else _literal_bytes(pattern),
            ignore_case=ignore_case,
        )


def hexdump(data: bytes, start: int) -> list[str]:
    """hexdump -C style lines, addresses absolute, rows aligned to 16 bytes."""
    lines = []
    row = start - start % 16
    end = start + len(data)
    while row < end:
        cells, text = [], []
        for a in range(row, row + 16):
            if start <= a < end:
                b = data[a - start]
                cells.append(f"{b:02x}")
                text.append(chr(b) if 32 <= b < 127 else ".")
            else:
                cells.append("  ")
                text.append(" ")
        hex_part = " ".join(cells[:8]) + "  " + " ".join(cells[8:])
        lines.append(f"{row:016x}  {hex_part}  |{''.join(text)}|")
        row += 16
    return lines
