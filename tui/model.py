"""What the TUI shows, computed without Textual.

The widgets in ``tui/widgets`` only lay out what this module returns, so the
decisions (which rows, which marks, which bytes) are tested headless and the
screen never decodes an image itself. Everything here goes through the same
library the CLI uses: ``Checkpoint``, ``PageReader``, ``fd_target``, the
checker and the diff library.
"""

from __future__ import annotations

import bisect
import importlib
import os
import re
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from inspector.errors import InspectError
from inspector.model import names
from inspector.model.checkpoint import Checkpoint
from inspector.model.types import Fd, Process, Vma
from inspector.pages import PageReader
from inspector.report.redact import environ_shown
from inspector.report.show_text import fd_target, human_bytes
from inspector.textfmt import counted, printable

Progress = Callable[[int, int, str], None]  # (step done, steps, what is being done now)

SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}
DIFF_MARK = {"added": "+", "removed": "-", "changed": "~"}


def optional_module(module: str):
    """A module of a library part that may not be in this build (checks, diff)."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name and (module == exc.name or module.startswith(exc.name + ".")):
            return None  # the part itself (or its package) is not in this build
        raise


# --------------------------------------------------------------------------
# rows of the tables


def fd_flags(fd: Fd) -> str:
    if fd.open_flags is None:
        return ""
    if fd.type in ("REG", "PIPE", "FIFO", "TTY") or fd.memfd:
        return names.open_flags_string(fd.open_flags)
    return f"0x{fd.open_flags:x}"


FD_COLUMNS = ("fd", "kind", "flags", "pos", "target")


def fd_cells(fd: Fd) -> tuple[str, str, str, str, str]:
    """fd, kind, flags, position, target: what `show fds` prints, one row (target last: it is the long one)."""
    kind = "MEMFD" if fd.memfd else fd.type
    flags = fd_flags(fd).replace("O_", "")
    return str(fd.fd), kind, flags, "" if fd.pos is None else str(fd.pos), fd_target(fd)


def shorten_middle(text: str, width: int) -> str:
    """Fit ``text`` in ``width`` cells by cutting its middle: a path's file name is what tells two rows apart."""
    if width <= 0:
        return ""
    if len(text) <= width:
        return text
    if width == 1:
        return "…"
    tail = (width - 1) * 2 // 3  # the end of a path (its file name) matters more than its start
    name = text.rsplit("/", 1)[-1]
    if "/" in text:  # keep the whole file name (and its slash) when there is room for a start too
        tail = min(width - 3, max(tail, len(name) + 1))
    head = width - 1 - tail
    return text[:head] + "…" + text[len(text) - tail :]


def vma_range(vma: Vma) -> str:
    return f"{vma.start:x}-{vma.end:x}"


def short_size(n: int) -> str:
    for unit, shift in (("G", 30), ("M", 20), ("K", 10)):
        if n >= 1 << shift and n % (1 << shift) == 0:
            return f"{n >> shift}{unit}"
    return str(n)


VMA_COLUMNS = ("range", "prot", "pres", "lazy", "par", "backing")  # pages present, lazy, in the parent


def vma_backing(vma: Vma) -> str:
    if vma.path:
        return vma.path
    status = [s for s in names.flag_names(vma.status, names.VMA_STATUS) if s not in ("REGULAR", "ANON_PRIVATE")]
    if not status and "MAP_GROWSDOWN" in names.flag_names(vma.flags, names.MAP_FLAGS):
        status = ["STACK"]  # the main stack: CRIU marks it by its mapping flag, not its status
    return "[" + ",".join(status).lower() + "]" if status else "[anon]"


def vma_cells(vma: Vma) -> tuple[str, str, str, str, str, str]:
    """range (start +size), prot, present, lazy, parent pages, backing (last: the long one)."""
    return (
        f"{vma.start:x} +{short_size(vma.size)}",
        names.prot_string(vma.prot),
        str(vma.pages_present),
        str(vma.pages_lazy),
        str(vma.pages_in_parent),
        vma_backing(vma),
    )


def finding_where(f) -> str:
    parts = []
    if f.pid is not None:
        parts.append(f"pid {f.pid}")
    if f.fd is not None:
        parts.append(f"fd {f.fd}")
    if f.vma_start is not None:
        parts.append(f"vma {f.vma_start:x}")
    if not parts and f.image:
        parts.append(f.image)
    return " ".join(parts)


def finding_cells(f) -> tuple[str, str, str, str]:
    return f.severity, f.code, finding_where(f), f.message


def tree_label(proc: Process, findings: int = 0, diff_status: str | None = None) -> str:
    mark = DIFF_MARK.get(diff_status or "", "")
    text = f"{mark}{proc.pid} {proc.comm}" if mark else f"{proc.pid} {proc.comm}"
    text += f" ({len(proc.threads)}t)"
    if findings:
        text += f" !{findings}"
    return text


def overview_sections(proc: Process, show_secrets: bool = False) -> list[tuple[str, list[str]]]:
    """Overview tab: (heading, lines) pairs; environment values named like secrets masked unless asked."""
    out: list[tuple[str, list[str]]] = []
    ident = [
        f"pid {proc.pid}  ppid {proc.ppid}  pgid {proc.pgid}  sid {proc.sid}  state {proc.state}",
        f"comm {proc.comm}  threads {len(proc.threads)}: {' '.join(map(str, proc.threads))}",
    ]
    for key in ("exe", "cwd", "root"):
        value = getattr(proc, key)
        if value:
            ident.append(f"{key} {value}")
    out.append(("process", ident))
    c = proc.creds
    if c is not None:
        creds = [
            "uid {uid} gid {gid}  euid {euid} egid {egid}  suid {suid} sgid {sgid}  fsuid {fsuid} fsgid {fsgid}".format(
                **c.ids
            ),
            f"groups {' '.join(map(str, c.groups)) or '-'}  no_new_privs {int(c.no_new_privs)}  secbits 0x{c.secbits:x}",
            f"cap_eff {_caps(c.cap_eff)}",
            f"cap_prm {_caps(c.cap_prm)}",
            f"cap_bnd {_caps(c.cap_bnd)}",
        ]
        if c.cap_amb:
            creds.append(f"cap_amb {_caps(c.cap_amb)}")
        if c.lsm_profile:
            creds.append(f"lsm {c.lsm_profile}")
        creds.append(
            f"seccomp {proc.seccomp_mode}" + (f" ({proc.seccomp_filters} filters)" if proc.seccomp_filters else "")
        )
        out.append(("credentials", creds))
    if proc.namespaces:
        out.append(("namespaces", ["  ".join(f"{ns} {ident}" for ns, ident in proc.namespaces.items())]))
    cg = [f"{c['name'] or '(v2)'}: {c['path']}" for c in proc.cgroups]
    out.append(("cgroup", [f"set {proc.cg_set}" if proc.cg_set is not None else "no cgroup set", *cg]))
    out.append(("cmdline", [" ".join(proc.cmdline) if proc.cmdline else f"[{proc.comm}]"]))
    env = environ_shown(proc.environ, show_secrets)
    masked = env != proc.environ
    out.append(
        ("environment", (env or ["(empty)"]) + (["(values named like secrets masked: S shows them)"] if masked else []))
    )
    pages = proc.pages
    out.append(
        (
            "memory",
            [
                f"{len(proc.vmas)} VMAs; pages {pages.present} present ({human_bytes(pages.present * names.PAGE_SIZE)}), "
                f"{pages.lazy} lazy, {pages.in_parent} in parent"
            ],
        )
    )
    return out


def _caps(mask: int) -> str:
    full = names.full_cap_mask()
    if mask & full == full:
        return "all" + (f" (+0x{mask & ~full:x})" if mask & ~full else "")
    found = names.cap_names(mask)
    missing = names.cap_names(full & ~mask)
    if len(found) > len(missing):  # most of them: name the few that are missing
        return "all except " + ",".join(missing)
    return ",".join(found) if found else "none"


# --------------------------------------------------------------------------
# hex view


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


# --------------------------------------------------------------------------
# a loaded session: one checkpoint (or two) with findings and differences


@dataclass
class Session:
    a: Checkpoint
    b: Checkpoint | None = None
    target: object | None = None
    report: object | None = None  # inspector.checks.base.CheckReport of A
    report_b: object | None = None  # and of B, in diff mode (its verdict only)
    findings_note: str = ""  # why there are no findings to show
    diff: object | None = None  # tui.diffview.DiffView
    diff_note: str = ""
    _findings_by_pid: dict = field(default_factory=dict, repr=False)

    @property
    def findings(self) -> list:
        if self.report is None:
            return []
        return sorted(self.report.findings, key=lambda f: (SEVERITY_ORDER.get(f.severity, 9), f.code, f.pid or 0))

    def findings_for(self, pid: int) -> list:
        if not self._findings_by_pid and self.report is not None:
            for f in self.report.findings:
                self._findings_by_pid.setdefault(f.pid, []).append(f)
        return self._findings_by_pid.get(pid, [])

    @property
    def diff_mode(self) -> bool:
        return self.b is not None

    # --- header --------------------------------------------------------
    def summary(self) -> str:
        cp = self.a
        procs = cp.processes
        totals = cp.page_totals()
        inv = cp.inventory
        version = f"img v{inv.img_version} CRIU {cp.criu_version_hint}" if inv is not None else "no inventory"
        where = cp.path if self.b is None else f"{cp.path} -> {self.b.path}"
        return (
            f"{where} · {version} · {counted(len(procs), 'proc')} {counted(sum(len(p.threads) for p in procs), 'thread')} "
            f"{counted(sum(len(p.fds) for p in procs), 'fd')} {counted(sum(len(p.vmas) for p in procs), 'VMA')} · "
            f"{human_bytes(totals.present * names.PAGE_SIZE)} pages"
        )

    def verdict(self) -> tuple[str, str]:
        """(text, kind): kind is ok, blocked or unknown (no check ran), a CSS class of the verdict line."""
        if self.report is None:
            return (self.findings_note or "no check run", "unknown")
        target = self.report.target
        who = getattr(target, "kind", "?") + (f" uid {target.uid}" if getattr(target, "uid", None) is not None else "")
        verdict = self.report.verdict
        text = f"{verdict.upper()} for {who} restore{_counts(self.report)}"
        if self.b is not None:
            text = "A: " + text
            if self.report_b is not None:
                text += f"; B: {self.report_b.verdict.upper()}{_counts(self.report_b)}"
        return text, "ok" if verdict == "restorable" else "blocked"

    def problems(self) -> list[str]:
        """What could not be read, from the model and from the checker, once each."""
        out = [p.one_line() for p in self.a.problems]
        if self.b is not None:
            out += [p.one_line() for p in self.b.problems]
        if self.report is not None:
            out += [str(p) for p in self.report.problems]
        return list(dict.fromkeys(out))

    # --- the tree -------------------------------------------------------
    def tree_rows(self) -> list[tuple[int, Process, str | None]]:
        """(depth, process, diff status) in tree order: A's processes, then those only B has (diff mode)."""
        rows = [(depth, p, self.process_status(p.pid)) for depth, p in self.a.walk()]
        if self.diff is not None:
            added = self.diff.added_pids()
            for depth, p in self.b.walk():
                if p.pid in added:
                    rows.append((depth, p, "added"))
        return rows

    def process(self, pid: int) -> Process | None:
        """The process ``pid`` of A, or of B for a process only B has (diff mode)."""
        if self.diff is not None and pid in self.diff.added_pids():
            return self.b.process(pid)
        return self.a.process(pid)

    # --- diff ------------------------------------------------------------
    def process_status(self, pid: int) -> str | None:
        if self.diff is None:
            return None
        return self.diff.process_status(pid)

    def fd_rows(self, pid: int) -> list[tuple[Fd, str | None]]:
        proc = self.process(pid)
        if proc is None:
            return []
        if self.diff is None:
            return [(fd, None) for fd in proc.fds]
        return self.diff.fd_rows(pid)

    def vma_rows(self, pid: int) -> list[tuple[Vma, str | None, int | None]]:
        """(vma, diff status, pages that differ)"""
        proc = self.process(pid)
        if proc is None:
            return []
        if self.diff is None:
            return [(v, None, None) for v in proc.vmas]
        return self.diff.vma_rows(pid)

    def overview_extra(self, pid: int) -> list[tuple[str, list[str]]]:
        """Shown above a process's overview: its findings, and in diff mode what changed in it."""
        out = []
        mine = sorted(self.findings_for(pid), key=lambda f: (SEVERITY_ORDER.get(f.severity, 9), f.code))
        if mine:
            lines = []
            for f in mine:
                where = " ".join(
                    w
                    for w in (
                        f"fd {f.fd}" if f.fd is not None else "",
                        f"vma {f.vma_start:x}" if f.vma_start is not None else "",
                    )
                    if w
                )
                lines.append(f"{f.severity} {f.code}{' ' + where if where else ''}: {f.title}")
            out.append(("findings (tab 4)", lines))
        if self.diff is not None:
            out += self.diff.overview_extra(pid)
        return out

    def diff_summary(self) -> str:
        return self.diff.summary() if self.diff is not None else self.diff_note

    def memory_summary(self, pid: int) -> str:
        """Above the VMA table: the process's sizes and where its pages are (``show mem``'s row)."""
        from inspector.memsizes import process_sizes

        proc = self.a.process(pid)
        if proc is None:
            return ""
        try:
            m = process_sizes(self.a, proc)
        except InspectError as exc:
            return f"sizes unknown: {exc.one_line()}"
        page = names.PAGE_SIZE
        pages = m.pages
        where = [("present", pages.present), ("in parent", pages.in_parent), ("lazy", pages.lazy)]
        where += [("shared", pages.shmem), ("not dumped", pages.not_dumped)]
        return (
            f"{human_bytes(m.size)} in {counted(m.vmas, 'VMA')}: private {human_bytes(m.private)}, "
            f"shared {human_bytes(m.shared)}, file {human_bytes(m.file_backed)}, anon {human_bytes(m.anonymous)}"
            "\npages " + ", ".join(f"{label} {human_bytes(n * page)}" for label, n in where if n or label == "present")
        )

    def checkpoint_sections(self) -> list[tuple[str, list[str]]]:
        """The Checkpoint tab: what ``show stats``, ``net``, ``mounts`` and ``sockets`` print, for A."""
        from inspector.report import views_text
        from inspector.report.textout import plain_lines
        from inspector.report.views_render import view_data

        render = {
            "stats": views_text.stats_blocks,
            "net": views_text.net_blocks,
            "mounts": views_text.mounts_blocks,
            "sockets": views_text.sockets_blocks,
        }
        out = []
        for view, blocks_of in render.items():
            try:
                lines = plain_lines(blocks_of(view_data(self.a, view)))
            except InspectError as exc:
                lines = [f"cannot read: {exc.one_line()}"]
            out.append((f"{view} (criu-inspect show DIR {view})", lines))
        return out

    def _reader(self, cp: Checkpoint, pid: int) -> PageReader | None:
        try:
            return cp.page_reader(pid)
        except InspectError:
            return None

    def hex_document(self, pid: int, vma: Vma) -> HexDocument:
        """Pages of ``vma``: read from A (from B for what only B has); in diff mode compared with B's."""
        pa, pb = self.diff.sides(pid) if self.diff is not None else (self.a.process(pid), None)
        if pa is not None and any(v.start == vma.start for v in pa.vmas):
            cp, proc, other = self.a, pa, (self._reader(self.b, pb.pid) if pb is not None else None)
        elif pb is not None:
            cp, proc, other = self.b, pb, None
        else:
            raise InspectError(self.a.path, f"VMA {vma.start:x} is not a VMA of pid {pid}")
        reader = self._reader(cp, proc.pid)
        if reader is None:
            raise InspectError(os.path.join(cp.path, f"pagemap-{proc.pid}.img"), "no pages for this process")
        return HexDocument(reader, vma, other)


def _counts(report) -> str:
    counts = {s: 0 for s in SEVERITY_ORDER}
    for f in report.findings:
        counts[f.severity] = counts.get(f.severity, 0) + 1
    detail = ", ".join(f"{n} {s}{'s' * (n != 1)}" for s, n in counts.items() if n)
    return f" ({detail})" if detail else ""


def load_session(
    path_a: str, path_b: str | None = None, target=None, progress: Progress | None = None, diff_options=None
) -> Session:
    """Decode everything the screens show, process by process, reporting progress (run in a worker thread)."""
    paths = [p for p in (path_a, path_b) if p]
    checkpoints = []
    for path in paths:  # the process trees first: they say how much work there is
        cp = Checkpoint(path)
        _ = cp.pstree  # not a checkpoint worth showing: raise now, in the loader
        checkpoints.append(cp)
    total = sum(len(cp.pstree) for cp in checkpoints) + len(checkpoints) + (1 if path_b else 0) + 1
    done = 0

    def tick(what: str) -> None:
        if progress is not None:
            progress(done, total, what)

    for cp in checkpoints:
        for entry in cp.pstree:
            tick(f"decoding {cp.path}: pid {entry.pid}")
            _warm_process(cp, entry.pid)
            done += 1
        tick(f"building the model of {cp.path}")
        _ = cp.processes
        cp.check_pages_sizes()
        done += 1
    session = Session(checkpoints[0], checkpoints[1] if path_b else None, target)
    if path_b:
        tick("comparing the checkpoints, down to pages")
        _run_diff(session, diff_options)
        done += 1
    tick("checking restore blockers")
    _run_checks(session)
    done += 1
    tick("done")
    return session


def _warm_process(cp: Checkpoint, pid: int) -> None:
    """Decode one process's images (cached by the checkpoint) so the progress moves per process."""
    try:
        for name in (f"core-{pid}.img", f"ids-{pid}.img", f"fs-{pid}.img", f"mm-{pid}.img"):
            cp.entries(name)
        if f"pagemap-{pid}.img" in cp.files:
            cp.pagemap(pid)
    except InspectError:
        pass  # building the model records it as a problem of this checkpoint


def _run_checks(session: Session) -> None:
    engine = optional_module("inspector.checks.engine")
    if engine is None:
        session.findings_note = "findings are not available in this build (no inspector.checks.engine)"
        return
    from inspector.checks.base import Target

    target = session.target if session.target is not None else Target()
    session.target = target
    try:
        session.report = engine.run_checks(session.a, target)
        if session.b is not None:  # diff mode: is B (the other checkpoint) any better for the same target?
            session.report_b = engine.run_checks(session.b, target)
    except InspectError as exc:
        session.findings_note = f"check failed: {exc.one_line()}"


def _run_diff(session: Session, options=None) -> None:
    from . import diffview

    note = diffview.unavailable_reason()
    if note:
        session.diff_note = note
        return
    try:
        session.diff = diffview.compute(session.a, session.b, options)
    except InspectError as exc:
        session.diff_note = f"diff failed: {exc.one_line()}"
