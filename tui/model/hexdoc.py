"""One VMA's pages as hexdump lines, read lazily: what the hex view scrolls, searches and compares.

A line is asked for when it is drawn; pages are read through ``PageReader``
(following pre-dump parents) and cached a few at a time, so a 1 GiB mapping
costs the pages on screen, not a gigabyte.
"""

from __future__ import annotations

import bisect
import re
from collections import OrderedDict
from dataclasses import dataclass

from inspector.errors import InspectError
from inspector.model import names
from inspector.model.types import Vma
from inspector.pages import PageReader
from inspector.textfmt import printable


@dataclass(frozen=True)
class HexLine:
    addr: int
    data: bytes | None  # 16 bytes, or None for a summary line of pages not in the images
    where: str  # present, parent, lazy, absent
    note: str = ""  # summary text of a line without data
    differs: tuple[int, ...] = ()  # offsets (0..15) whose byte differs on the other side (diff mode)


@dataclass(frozen=True)
class _Segment:
    first_line: int
    start: int  # address
    end: int
    where: str  # "content" or lazy/absent

    @property
    def lines(self) -> int:
        return (self.end - self.start) // 16 if self.where == "content" else 1


class HexDocument:
    """The pages of one VMA as hexdump lines, read page by page when a line is asked for.

    Pages with content (present here or in a pre-dump parent) give 256 lines
    each; a run of pages not in the images (lazy, or never dumped) is one
    summary line, so a sparse 1 GiB mapping does not become 64 M empty lines.
    At most ``cache_pages`` pages are kept.
    """

    BYTES_PER_LINE = 16

    def __init__(self, reader: PageReader, vma: Vma, other: PageReader | None = None, cache_pages: int = 64):
        self.reader = reader
        self.vma = vma
        self.other = other
        self.cache_pages = cache_pages
        self.page_reads = 0
        self._cache: OrderedDict[tuple[int, int], tuple[str, bytes | None]] = OrderedDict()
        self.segments: list[_Segment] = []
        self._build()

    def _build(self) -> None:
        line = 0
        cursor = self.vma.start

        def add(start: int, end: int, where: str) -> None:
            nonlocal line
            if end <= start:
                return
            seg = _Segment(line, start, end, where)
            self.segments.append(seg)
            line += seg.lines

        for run in self.reader.pagemap.runs_in(self.vma.start, self.vma.end):
            lo, hi = max(run.start, self.vma.start), min(run.end, self.vma.end)
            add(cursor, lo, "absent")
            if run.flags & (names.PE_PRESENT | names.PE_PARENT):
                add(lo, hi, "content")
            else:
                add(lo, hi, "lazy")
            cursor = hi
        add(cursor, self.vma.end, "absent")
        self.line_count = line
        self._firsts = [s.first_line for s in self.segments]

    def _page(self, side: int, addr: int) -> tuple[str, bytes | None]:
        key = (side, addr)
        hit = self._cache.get(key)
        if hit is not None:
            self._cache.move_to_end(key)
            return hit
        reader = self.reader if side == 0 else self.other
        assert reader is not None, "side 1 is read only in diff mode"
        self.page_reads += 1
        try:
            value = reader.page(addr)
        except InspectError as exc:
            value = ("unreadable: " + exc.reason, None)
        self._cache[key] = value
        if len(self._cache) > self.cache_pages:
            self._cache.popitem(last=False)
        return value

    def line(self, index: int) -> HexLine:
        if not 0 <= index < self.line_count:
            raise IndexError(index)
        seg = self.segments[bisect.bisect_right(self._firsts, index) - 1]
        if seg.where != "content":
            pages = (seg.end - seg.start) // names.PAGE_SIZE
            why = "lazy (served by a lazy-pages daemon)" if seg.where == "lazy" else "not in the images"
            return HexLine(seg.start, None, seg.where, f"{pages} page{'s' * (pages != 1)} {why}")
        addr = seg.start + (index - seg.first_line) * self.BYTES_PER_LINE
        page_addr = addr - addr % names.PAGE_SIZE
        where, data = self._page(0, page_addr)
        if data is None:
            return HexLine(addr, None, where, where)
        off = addr - page_addr
        chunk = data[off : off + self.BYTES_PER_LINE]
        differs: tuple[int, ...] = ()
        if self.other is not None:
            _, other_data = self._page(1, page_addr)
            if other_data is None:
                differs = tuple(range(len(chunk)))
            else:
                theirs = other_data[off : off + self.BYTES_PER_LINE]
                differs = tuple(i for i, (x, y) in enumerate(zip(chunk, theirs)) if x != y)
        return HexLine(addr, chunk, where, differs=differs)

    def next_difference(self, from_line: int, backwards: bool = False) -> int | None:
        """The first line after (or before) ``from_line`` with a byte that differs on the other side.

        Walks page by page through the cache, so a jump over unchanged pages
        reads them once each and keeps at most ``cache_pages`` of them.
        """
        if self.other is None:
            return None
        step = -1 if backwards else 1
        index = from_line + step
        while 0 <= index < self.line_count:
            seg = self.segments[bisect.bisect_right(self._firsts, index) - 1]
            if seg.where != "content":
                index = seg.first_line - 1 if backwards else seg.first_line + seg.lines
                continue
            addr = seg.start + (index - seg.first_line) * self.BYTES_PER_LINE
            page_addr = addr - addr % names.PAGE_SIZE
            _, mine = self._page(0, page_addr)
            _, theirs = self._page(1, page_addr)
            lines_per_page = names.PAGE_SIZE // self.BYTES_PER_LINE
            first_of_page = index - (addr - page_addr) // self.BYTES_PER_LINE
            if mine != theirs:
                offsets = (
                    range(index - first_of_page, -1, -1) if backwards else range(index - first_of_page, lines_per_page)
                )
                for k in offsets:
                    lo = k * self.BYTES_PER_LINE
                    if (
                        mine is None
                        or theirs is None
                        or mine[lo : lo + self.BYTES_PER_LINE] != theirs[lo : lo + self.BYTES_PER_LINE]
                    ):
                        return first_of_page + k
            index = first_of_page - 1 if backwards else first_of_page + lines_per_page
        return None

    def find(self, needle: bytes, from_addr: int, backwards: bool = False) -> int | None:
        """Address of the first ``needle`` after ``from_addr`` (or the last before it) in this VMA's bytes.

        Pages not in the images hold no known bytes, so a match never spans
        them; runs present here and in the parent are one run of memory.
        Reads ``SEARCH_CHUNK`` bytes at a time, so a 1 GiB VMA costs a chunk
        of memory, not a gigabyte.
        """
        if not needle:
            return None
        spans = self._content_spans()
        if backwards:
            spans = [(s, min(e, from_addr - 1 + len(needle))) for s, e in reversed(spans) if s < from_addr]
        else:
            spans = [(max(s, from_addr + 1), e) for s, e in spans if e > from_addr + 1]
        for start, end in spans:
            hit = self._find_in(needle, start, end, backwards)
            if hit is not None:
                return hit
        return None

    SEARCH_CHUNK = 1 << 20

    def _content_spans(self) -> list[tuple[int, int]]:
        spans: list[tuple[int, int]] = []
        for seg in self.segments:
            if seg.where != "content":
                continue
            if spans and spans[-1][1] == seg.start:
                spans[-1] = (spans[-1][0], seg.end)
            else:
                spans.append((seg.start, seg.end))
        return spans

    def _find_in(self, needle: bytes, start: int, end: int, backwards: bool) -> int | None:
        overlap = len(needle) - 1
        step = self.SEARCH_CHUNK
        if not backwards:
            addr = start
            while addr + len(needle) <= end:
                length = min(step + overlap, end - addr)
                at = self.reader.read(addr, length).find(needle)
                if at >= 0:
                    return addr + at
                addr += step
            return None
        hi = end
        while hi - start >= len(needle):
            lo = max(start, hi - step - overlap)
            at = self.reader.read(lo, hi - lo).rfind(needle)
            if at >= 0:
                return lo + at
            hi = lo + overlap
            if lo == start:
                break
        return None

    def line_of_addr(self, addr: int) -> int:
        """The line that shows ``addr``: where the hex view scrolls to show a search hit."""
        for seg in self.segments:
            if seg.start <= addr < seg.end:
                if seg.where != "content":
                    return seg.first_line
                return seg.first_line + (addr - seg.start) // self.BYTES_PER_LINE
        return 0


def parse_needle(text: str) -> bytes:
    """What the hex view's search looks for: ``0x``/hex-pair text as bytes, anything else as UTF-8 text.

    ``0xdeadbeef`` and ``de ad be ef`` are four bytes; ``"de ad"`` (quoted) and
    ``deadbeef`` are text. Raises ValueError for a ``0x`` that is not hex.
    """
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] == '"':
        return text[1:-1].encode()
    if text.lower().startswith("0x"):
        digits = text[2:].replace(" ", "")
        if len(digits) % 2:
            digits = "0" + digits
        return bytes.fromhex(digits)
    pairs = text.split()
    if len(pairs) >= 2 and all(re.fullmatch(r"[0-9a-fA-F]{2}", p) for p in pairs):
        return bytes.fromhex("".join(pairs))
    return text.encode()


def hex_text(line: HexLine) -> str:
    """One hexdump line: address, 16 bytes, ASCII."""
    if line.data is None:
        return f"{line.addr:012x}  -- {line.note} --"
    hexes = " ".join(f"{b:02x}" for b in line.data)
    ascii_ = printable(line.data)
    return f"{line.addr:012x}  {hexes:<47}  {ascii_}"
