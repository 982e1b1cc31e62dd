"""The diff as a readable tree: summary line first, then what differs, side A -> side B.

Reads only the result tree (``inspector.diff.result``), so a diff saved as JSON
renders the same as a fresh one. Markers (``inspector.diff.marks``, shared
with the TUI): ``+`` only in B, ``-`` only in A, ``~`` changed.
"""

from __future__ import annotations

from ..diff.marks import DIFF_MARK
from ..diff.result import ADDED, REMOVED, SAME, Change, DiffResult, Hunk, Item, ProcessDiff, VmaDiff, summary_line
from ..textfmt import printable
from .textout import Heading, emit


def render(result: DiffResult, stream=None) -> None:
    out = lines(result)
    emit([Heading(out[0]), *out[1:]], stream)


def lines(r: DiffResult) -> list[str]:
    out = [summary_line(r), f"A: {r.a}", f"B: {r.b}"]
    notes = []
    if r.match != "pid":
        notes.append(f"processes matched by {r.match}")
    if r.ignored:
        notes.append(f"ignored: {', '.join(r.ignored)}")
    if not r.pages_compared:
        notes.append("pages not compared")
    statuses = {p.status for p in r.processes}
    if r.match == "pid" and {ADDED, REMOVED} <= statuses:
        notes.append("processes only in A and only in B: --match tree pairs them by place in the tree")
    if notes:
        out.append("(" + "; ".join(notes) + ")")
    if r.identical:
        return out
    if r.inventory:
        out.append("inventory")
        out += [_change(c, 1) for c in r.inventory]
    if r.stats:
        out.append("dump stats")
        out += [_change(c, 1) for c in r.stats]
    _items(out, "time namespaces", r.timens)
    for p in r.processes:
        if p.status != SAME:
            _process(out, p)
    _items(out, "file locks", r.file_locks)
    _items(out, "cgroups", r.cgroups)
    _items(out, "mounts", r.mounts)
    _items(out, "other images", r.images)
    return out


def _value(v) -> str:
    if v is None:
        return "(none)"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, list):
        return "[" + ", ".join(str(x) for x in v) + "]"
    if isinstance(v, str) and (v == "" or v != v.strip()):
        return repr(v)
    return str(v)


def _change(c: Change, depth: int) -> str:
    pad = "  " * depth
    tag = f"  [{c.category}]" if c.category != "structure" else ""
    if c.note is not None:
        return f"{pad}~ {c.field}: {c.note}{tag}"
    return f"{pad}~ {c.field}: {_value(c.a)} -> {_value(c.b)}{tag}"


def _items(out: list[str], title: str, items: list[Item], depth: int = 0) -> None:
    items = [i for i in items if i.status != SAME]
    if not items:
        return
    out.append("  " * depth + title)
    for it in items:
        out.append(f"{'  ' * (depth + 1)}{DIFF_MARK[it.status]} {it.key}{_item_info(it)}")
        out += [_change(c, depth + 2) for c in it.changes]


def _item_info(it: Item) -> str:
    info = it.info
    if it.kind == "fd":
        if it.status == ADDED:
            return f" {info.get('type_b', '')} {info.get('path_b') or ''}".rstrip()
        if it.status == REMOVED:
            return f" {info.get('type_a', '')} {info.get('path_a') or ''}".rstrip()
        if info.get("retargeted"):
            return f": retargeted {_value(info.get('path_a'))} -> {_value(info.get('path_b'))}"
    return ""


def _process(out: list[str], p: ProcessDiff) -> None:
    pid = str(p.pid) if p.pid_b in (None, p.pid) else f"{p.pid} -> {p.pid_b}"
    out.append(f"{DIFF_MARK[p.status]} process {pid} {p.comm}: {p.status}")
    if p.status in (ADDED, REMOVED):
        if p.pages_changed:
            out.append(f"    {p.pages_changed} pages {'only in B' if p.status == ADDED else 'only in A'}")
        return
    out += [_change(c, 1) for c in p.changes]
    for t in p.threads:
        if t.status != SAME:
            out.append(f"  {DIFF_MARK[t.status]} {t.key}" + (": registers" if t.changes else ""))
            out += [_change(c, 2) for c in t.changes]
    _items(out, "fds", p.fds, depth=1)
    if p.vmas:
        out.append("  vmas")
        for v in p.vmas:
            _vma(out, v)
    if p.pages_outside_vmas:
        out.append(f"  {p.pages_outside_vmas} changed pages outside every VMA")


def _vma(out: list[str], v: VmaDiff) -> None:
    head = f"    {DIFF_MARK[v.status]} 0x{v.start:x}-0x{v.end:x} {v.desc}"
    facts = []
    if v.pages_differ:
        facts.append(
            f"{v.pages_differ} {'page differs' if v.pages_differ == 1 else 'pages differ'} ({v.bytes_differ} bytes)"
        )
    if v.pages_added:
        facts.append(f"{v.pages_added} {'page' if v.pages_added == 1 else 'pages'} only in B")
    if v.pages_removed:
        facts.append(f"{v.pages_removed} {'page' if v.pages_removed == 1 else 'pages'} only in A")
    if facts:
        head += ": " + ", ".join(facts)
    out.append(head)
    out += [_change(c, 3) for c in v.changes]
    for h in v.hunks:
        out += hexdump_hunk(h, "      ")


def hexdump_hunk(h: Hunk, pad: str) -> list[str]:
    out = [f"{pad}@@ 0x{h.addr:x} ({h.differing_bytes} differing bytes shown)"]
    a = bytes.fromhex(h.a) if h.a else None
    b = bytes.fromhex(h.b) if h.b else None
    length = max(len(a or b""), len(b or b""))
    for row in range(0, length, 16):
        for mark, data in (("-", a), ("+", b)):
            if data is None:
                continue
            chunk = data[row : row + 16]
            hexes = " ".join(f"{x:02x}" for x in chunk)
            text = printable(chunk)
            out.append(f"{pad}{mark} 0x{h.addr + row:x}  {hexes:<47}  |{text}|")
    return out
