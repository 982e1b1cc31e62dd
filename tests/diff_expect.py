"""Expected page differences, computed the slow, obvious way for the diff tests.

Independent of inspector.diff: the pagemap is walked entry by entry, every
present page read from its pages file with plain file reads, and the two sides
compared page by page and byte by byte; differences are attributed to the VMAs
of mm-PID.img.
"""

from __future__ import annotations

from pathlib import Path

from inspector.codec.image import open_image
from inspector.model.names import PAGE_SIZE, PE_PARENT, PE_PRESENT
from inspector.pages import effective_flags, page_count


def page_contents(ckpt: Path, pid: int) -> dict[int, bytes]:
    """{page address: 4096 bytes} for every page with content, following parent links."""
    pm = open_image(ckpt / f"pagemap-{pid}.img")
    pages_id = pm.entries[0].message.pages_id
    out: dict[int, bytes] = {}
    parent_pages = None
    with open(ckpt / f"pages-{pages_id}.img", "rb") as fh:
        for entry in pm.entries[1:]:
            msg = entry.message
            flags, n = effective_flags(msg), page_count(msg)
            if flags & PE_PRESENT:
                for i in range(n):
                    out[msg.vaddr + i * PAGE_SIZE] = fh.read(PAGE_SIZE)
            elif flags & PE_PARENT:
                if parent_pages is None:
                    parent_pages = page_contents((ckpt / "parent").resolve(), pid)
                for i in range(n):
                    addr = msg.vaddr + i * PAGE_SIZE
                    if addr in parent_pages:
                        out[addr] = parent_pages[addr]
    return out


def vmas_of(ckpt: Path, pid: int) -> list[tuple[int, int]]:
    mm = open_image(ckpt / f"mm-{pid}.img").entries[0].message
    return [(v.start, v.end) for v in mm.vmas]


def expected_page_diff(a: Path, b: Path, pid: int) -> dict[tuple[int, int], dict]:
    """{(vma start, vma end): {"pages_changed", "pages_differ", "bytes_differ"}} for VMAs with differences."""
    pa, pb = page_contents(a, pid), page_contents(b, pid)
    vmas = vmas_of(a, pid)
    out: dict[tuple[int, int], dict] = {}
    for addr in sorted(set(pa) | set(pb)):
        x, y = pa.get(addr), pb.get(addr)
        if x == y:
            continue
        vma = next(v for v in vmas if v[0] <= addr < v[1])
        slot = out.setdefault(vma, {"pages_changed": 0, "pages_differ": 0, "bytes_differ": 0})
        slot["pages_changed"] += 1
        if x is not None and y is not None:
            slot["pages_differ"] += 1
            slot["bytes_differ"] += sum(1 for i in range(PAGE_SIZE) if x[i] != y[i])
    return out


def result_page_diff(process) -> dict[tuple[int, int], dict]:
    """The same shape, from a ProcessDiff (or its JSON dict)."""
    vmas = process["vmas"] if isinstance(process, dict) else [v.to_dict() for v in process.vmas]
    return {
        (v["start"], v["end"]): {k: v[k] for k in ("pages_changed", "pages_differ", "bytes_differ")}
        for v in vmas
        if v["pages_changed"]
    }
