"""VMAs (matched by start address; a stack that grew is matched by its end): added,
removed, resized, protection or backing file changed; and the page diff inside each."""

from __future__ import annotations

from dataclasses import dataclass

from ...model import names
from ...model.types import Process, Vma
from ..context import Context
from ..fields import compare_values
from ..pagearrays import Chain
from ..pagediff import Extent, PageDiffer, Tally, VmaIndex, resolved_extents
from ..result import ADDED, CHANGED, REMOVED, SAME, VmaDiff
from ..sides import Side

VmaPair = tuple[Vma | None, Vma | None]


def describe(v: Vma) -> str:
    share = "s" if v.flags & 0x1 else "p"
    kinds = [
        n
        for n in names.flag_names(v.status, names.VMA_STATUS)
        if n not in ("REGULAR", "ANON_PRIVATE", "FILE_PRIVATE", "FILE_SHARED")
    ]
    if v.flags & 0x100 and not kinds:  # MAP_GROWSDOWN
        kinds = ["STACK"]
    what = v.path or (f"[{kinds[0].lower()}]" if kinds else "[anon]")
    return f"{names.prot_string(v.prot)}{share} {what}"


def vma_facts(v: Vma) -> dict:
    return {
        "start": f"0x{v.start:x}",
        "end": f"0x{v.end:x}",
        "prot": names.prot_string(v.prot),
        "flags": "|".join(names.flag_names(v.flags, names.MAP_FLAGS)),
        "status": "|".join(names.flag_names(v.status, names.VMA_STATUS)),
        "path": v.path,
        "pgoff": v.pgoff,
    }


def pair_vmas(a: list[Vma], b: list[Vma]) -> list[VmaPair]:
    by_start_b = {v.start: v for v in b}
    pairs: list[VmaPair] = []
    used_b: set[int] = set()
    left_a = []
    for v in a:
        w = by_start_b.get(v.start)
        if w is not None and id(w) not in used_b:
            pairs.append((v, w))
            used_b.add(id(w))
        else:
            left_a.append(v)
    left_b = {v.end: v for v in b if id(v) not in used_b}
    for v in left_a:
        w = left_b.pop(v.end, None)  # same end, other start: a grown-down stack
        pairs.append((v, w))
        if w is not None:
            used_b.add(id(w))
    pairs += [(None, w) for w in b if id(w) not in used_b]
    pairs.sort(key=lambda p: _either(*p).start)
    return pairs


def _either(va: Vma | None, vb: Vma | None) -> Vma:
    """The VMA a pair is listed under: side A's, or side B's for one only B has."""
    vma = va or vb
    assert vma is not None  # a pair has at least one side
    return vma


def compare_vmas(ctx: Context, pairs: list[VmaPair]) -> list[VmaDiff]:
    """One VmaDiff per pair, in the pairs' order (the page diff's tallies follow the same order)."""
    out = []
    for va, vb in pairs:
        base = _either(va, vb)
        vd = VmaDiff(base.start, base.end, desc=describe(base))
        if va is None:
            vd.status = ADDED
        elif vb is None:
            vd.status = REMOVED
        else:
            vd.changes = ctx.kept(compare_values(vma_facts(va), vma_facts(vb)))
            vd.status = CHANGED if vd.changes else SAME
        out.append(vd)
    return out


@dataclass
class PageChanges:
    """What the page diff of one process pair found."""

    per_vma: list[Tally]  # one per VMA pair, in the pairs' order
    outside_vmas: int  # changed pages that no VMA on either side covers


def compare_pages(
    ctx: Context, differ: PageDiffer, a: Process | None, b: Process | None, pairs: list[VmaPair]
) -> PageChanges:
    """The page diff of one process pair, tallied per VMA pair."""
    spans_a, spans_b = [], []
    tallies = []
    for va, vb in pairs:
        t = Tally()
        tallies.append(t)
        if va is not None:
            spans_a.append((va.start, va.end, t))
        if vb is not None:
            spans_b.append((vb.start, vb.end, t))
    outside = Tally()
    index = VmaIndex(spans_a, spans_b, outside)
    if not _compare_arrays(ctx, differ, a, b, index):
        xa = _extents(ctx.a, a)
        xb = _extents(ctx.b, b)
        differ.compare(xa, xb, index.cuts(), index)
    return PageChanges(tallies, outside.pages_differ + outside.pages_added + outside.pages_removed)


def _compare_arrays(ctx: Context, differ: PageDiffer, a: Process | None, b: Process | None, index: VmaIndex) -> bool:
    """The page diff over whole arrays (numpy), if both sides are plain enough for it; else False."""
    if differ.np is None:
        return False
    chains = []
    for side, proc in ((ctx.a, a), (ctx.b, b)):
        if proc is None or (f"pagemap-{proc.pid}.img" not in side.cp.files and not proc.vmas):
            chains.append(Chain.empty(differ.np))
            continue
        chain = Chain.prepare(differ.np, side.cp, proc.pid)
        if chain is None:
            return False
        chains.append(chain)
    return differ.compare_chains(chains[0], chains[1], index)


def _extents(side: Side, proc: Process | None) -> list[Extent]:
    if proc is None:
        return []
    with side.guard():
        if f"pagemap-{proc.pid}.img" not in side.cp.files and not proc.vmas:
            return []
        xs = resolved_extents(side.cp, proc.pid)
        for x in xs:  # open (and so blame) each pages file under its side
            x.source.view()
        return xs
