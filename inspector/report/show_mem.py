"""``show mem``: the per-process memory-size table (inspector/memsizes.py), as text and as JSON."""

from __future__ import annotations

from dataclasses import asdict

from ..memsizes import MemorySizes, memory_sizes
from ..model.names import PAGE_SIZE
from ..textfmt import human_bytes
from .textout import Block, Table

SHOW_MEM_JSON_VERSION = 1
_SIZES = ("size", "private", "shared", "file_backed", "anonymous")


def mem_blocks(cp, pids=None) -> list[Block]:
    rows, total = memory_sizes(cp, pids)
    t = Table(
        [
            "pid",
            "comm",
            "VMAs",
            "size",
            "private",
            "shared",
            "file",
            "anon",
            "present",
            "in parent",
            "lazy",
            "shmem",
            "not dumped",
        ],
        title="memory (VMA sizes; pages by where they are)",
    )
    for r in [*rows, *([total] if len(rows) > 1 else [])]:
        p = r.pages
        t.add(
            "total" if r.pid is None else r.pid,
            r.comm,
            r.vmas,
            *(human_bytes(getattr(r, k)) for k in _SIZES),
            *(human_bytes(n * PAGE_SIZE) for n in (p.present, p.in_parent, p.lazy, p.shmem, p.not_dumped)),
        )
    legend = (
        "  present: in this checkpoint's pages files; in parent: in the pre-dump chain; lazy: only a lazy-pages"
        " server has them; shmem: in a shared memory object's dump; not dumped: CRIU skipped them"
    )
    return [t, legend]


def _row_dict(r: MemorySizes) -> dict:
    out: dict[str, object] = {"pid": r.pid, "comm": r.comm, "state": r.state, "vmas": r.vmas}
    out.update({k: getattr(r, k) for k in _SIZES})
    out["pages"] = asdict(r.pages)
    return out


def mem_dict(cp, pids=None) -> dict:
    rows, total = memory_sizes(cp, pids)
    t = _row_dict(total)
    for key in ("pid", "comm", "state"):
        del t[key]
    return {
        "version": SHOW_MEM_JSON_VERSION,
        "path": cp.origin,
        "page_size": PAGE_SIZE,
        "processes": [_row_dict(r) for r in rows],
        "total": t,
        "problems": [p.one_line() for p in cp.problems],
    }
