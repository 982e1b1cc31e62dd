"""The page diff's per-run work as whole-array operations (numpy), for pagemaps of any run count.

``resolved_extents`` makes one Extent object per run and ``_pieces`` sweeps
them one step per run: fine for thousands of runs, most of the time for a
fragmented pagemap of a hundred thousand one-page runs. Here each side's
pre-dump chain is resolved into parallel arrays (start, end, source, offset)
with searchsorted, and both sides are cut at each other's boundaries and at
the VMA boundaries in one go.

Work goes in address windows that hold at most ``WINDOW_RUNS`` runs of any
pagemap of either chain, so scratch memory is bounded whatever the run count.

``Chain.prepare`` validates the whole chain up front and returns None for
anything unusual (overlapping or unaligned runs, a pages file shorter than its
pagemap, a missing parent, addresses near 2**64): the caller then takes the
per-run path, which raises the exact error (or copes) as before. So this path
never reports an error of its own, and never after it has counted anything.
"""

from __future__ import annotations

from types import ModuleType
from typing import TYPE_CHECKING

from ..errors import InspectError
from ..model.names import PAGE_SIZE, PE_PARENT, PE_PRESENT

if TYPE_CHECKING:
    from ..pages import PagedCheckpoint, PagesFile

WINDOW_RUNS = 1 << 15
ADDRESS_LIMIT = 1 << 60  # addresses at or above: the per-run path (ints of any size)
_COUNT_LIMIT = 1 << 40  # pages in one run
_MAX_DEPTH = 64  # pre-dump parents followed


class _Level:
    """One pagemap of the chain as int64 arrays (runs sorted and disjoint)."""

    __slots__ = ("starts", "ends", "offsets", "present", "parent_only", "source")

    def __init__(self, starts, ends, offsets, present, parent_only, source: int):
        self.starts, self.ends, self.offsets = starts, ends, offsets
        self.present, self.parent_only, self.source = present, parent_only, source


class Chain:
    """Where each page of one process lives, through its pre-dump parents, as arrays."""

    def __init__(self, np, levels: list[_Level], sources: list):
        self.np = np
        self.levels = levels
        self.sources = sources  # PagesFile, indexed by the ``source`` arrays

    @classmethod
    def empty(cls, np) -> Chain:
        return cls(np, [], [])

    @classmethod
    def prepare(cls, np: ModuleType, cp: PagedCheckpoint, pid: int) -> Chain | None:
        """The chain of ``pid`` from checkpoint ``cp`` down, or None to leave it to the per-run path."""
        try:
            return cls._prepare(np, cp, pid)
        except (InspectError, OSError):
            return None

    @classmethod
    def _prepare(cls, np: ModuleType, cp: PagedCheckpoint | None, pid: int) -> Chain | None:
        levels: list[_Level] = []
        sources: list[PagesFile] = []
        while cp is not None and len(levels) < _MAX_DEPTH:
            pm = cp.pagemap(pid)
            if not pm.disjoint:
                return None
            runs = pm.arrays
            n = len(runs.starts)
            starts, counts = runs.starts, runs.counts
            if n and (int(starts.max()) >= ADDRESS_LIMIT or int(counts.max()) >= _COUNT_LIMIT):
                return None
            starts = starts.astype(np.int64)
            if n and (starts % PAGE_SIZE).any():
                return None
            ends = starts + counts.astype(np.int64) * PAGE_SIZE
            if n and int(ends[-1]) >= ADDRESS_LIMIT:
                return None
            flags, offsets = runs.flags, runs.offsets
            present = (flags & PE_PRESENT) != 0
            parent_only = ~present & ((flags & PE_PARENT) != 0)
            source = -1
            if present.any():
                pf = cp.pages_file(pm.pages_id)
                needed = int((offsets[present] + (ends - starts)[present]).max())
                if needed > pf.size:
                    return None
                pf.view()  # opened now, so a file that cannot be mapped is blamed before anything is counted
                source = len(sources)
                sources.append(pf)
            levels.append(_Level(starts, ends, offsets, present, parent_only, source))
            if not parent_only.any():
                return cls(np, levels, sources)
            cp = cp.parent
        return None

    def window_edges(self) -> list:
        """Every WINDOW_RUNS-th run start of every level (the caller merges both sides')."""
        return [lv.starts[::WINDOW_RUNS] for lv in self.levels]

    def resolve(self, lo: int, hi: int, depth: int = 0):
        """(starts, ends, source, offset) of the pages with content in [lo, hi), sorted, none empty."""
        np = self.np
        if depth >= len(self.levels):
            return _EMPTY(np)
        lv = self.levels[depth]
        i = int(np.searchsorted(lv.ends, lo, side="right"))
        k = int(np.searchsorted(lv.starts, hi, side="left"))
        if i >= k:
            return _EMPTY(np)
        run_s, run_e = lv.starts[i:k], lv.ends[i:k]
        s = np.maximum(run_s, lo)
        e = np.minimum(run_e, hi)
        present = lv.present[i:k]
        parts = [
            (
                s[present],
                e[present],
                np.full(int(present.sum()), lv.source, dtype=np.int32),
                lv.offsets[i:k][present] + (s - run_s)[present],
            )
        ]
        parent = lv.parent_only[i:k] & (e > s)
        if parent.any():
            qs, qe = s[parent], e[parent]
            below = self.resolve(int(qs[0]), int(qe[-1]), depth + 1)
            parts.append(_intersect(np, below, qs, qe))
            out = tuple(np.concatenate(col) for col in zip(*parts))
            order = np.argsort(out[0], kind="stable")
            out = tuple(col[order] for col in out)
        else:
            out = parts[0]
        nonempty = out[1] > out[0]
        if not nonempty.all():
            out = tuple(col[nonempty] for col in out)
        return out


def _EMPTY(np):
    z = np.zeros(0, dtype=np.int64)
    return z, z, np.zeros(0, dtype=np.int32), z


def _intersect(np, extents, qs, qe):
    """The parts of ``extents`` (sorted, disjoint) inside the ranges [qs, qe) (sorted, disjoint)."""
    ps, pe, src, off = extents
    first = np.searchsorted(pe, qs, side="right")  # first extent ending after the range starts
    last = np.searchsorted(ps, qe, side="left")  # first extent starting at or after its end
    n = np.maximum(last - first, 0)
    total = int(n.sum())
    if not total:
        return _EMPTY(np)
    q = np.repeat(np.arange(len(qs)), n)
    p = np.repeat(first - (np.cumsum(n) - n), n) + np.arange(total)
    s = np.maximum(ps[p], qs[q])
    e = np.minimum(pe[p], qe[q])
    return s, e, src[p], off[p] + (s - ps[p])


def windows(np, chain_a: Chain, chain_b: Chain) -> list[tuple[int, int]]:
    """Address windows [lo, hi) covering everything, each holding at most WINDOW_RUNS runs of any pagemap."""
    edges = chain_a.window_edges() + chain_b.window_edges()
    if not edges:
        return []
    points = _sorted_unique(np, np.concatenate(edges))
    bounds = [0, *points[1:].tolist(), ADDRESS_LIMIT]
    return list(zip(bounds, bounds[1:]))


def pieces(np, xa, xb, cuts):
    """Both sides cut at every boundary of either and at ``cuts``: arrays over the pieces that hold pages.

    Returns (lo, hi, index into xa or -1, index into xb or -1), the same
    pieces, in the same order, as the per-run sweep ``pagediff._pieces``.
    """
    sa, ea = xa[0], xa[1]
    sb, eb = xb[0], xb[1]
    points = _sorted_unique(np, np.concatenate((_bounds(np, sa, ea), _bounds(np, sb, eb), cuts)))
    lo, hi = points[:-1], points[1:]
    ia = _covering(np, sa, ea, lo)
    ib = _covering(np, sb, eb, lo)
    keep = (ia >= 0) | (ib >= 0)
    return lo[keep], hi[keep], ia[keep], ib[keep]


def _bounds(np, starts, ends):
    """s0, e0, s1, e1, ...: sorted already, as the extents are sorted and disjoint."""
    return np.column_stack((starts, ends)).ravel()


def _sorted_unique(np, values):
    """np.unique for a few sorted runs end to end: a stable sort merges runs in linear time
    (np.unique hashes and sorts, some 20 times slower here)."""
    values.sort(kind="stable")
    if not len(values):
        return values
    keep = np.empty(len(values), dtype=bool)
    keep[0] = True
    np.not_equal(values[1:], values[:-1], out=keep[1:])
    return values[keep]


def _covering(np, starts, ends, at):
    """Index of the extent holding each address of ``at``, or -1."""
    if not len(starts):
        return np.full(len(at), -1, dtype=np.int64)
    i = np.searchsorted(starts, at, side="right") - 1
    held = (i >= 0) & (ends[np.maximum(i, 0)] > at)
    return np.where(held, i, -1)
