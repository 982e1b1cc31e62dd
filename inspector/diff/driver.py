"""diff_checkpoints: load both sides, pair their processes, run every comparator, assemble the result.

Each comparator returns its piece (diffoscope's rule); only this module puts the pieces together.
"""

from __future__ import annotations

import os

from ..model.types import Process
from .comparators.fds import compare_fds
from .comparators.images import compare_images
from .comparators.inventory import compare_inventory, compare_stats, compare_timens
from .comparators.process import compare_process
from .comparators.tree_wide import compare_cgroups, compare_file_locks, compare_mounts
from .comparators.vmas import PageChanges, compare_pages, compare_vmas, pair_vmas
from .context import Context, DiffOptions
from .match import match_processes
from .pagediff import PageDiffer
from .result import DiffResult, ProcessDiff
from .sides import Side


def diff_checkpoints(a: str | os.PathLike, b: str | os.PathLike, options: DiffOptions | None = None) -> DiffResult:
    """Compare checkpoint directories ``a`` and ``b``. Raises InspectError naming the side at fault."""
    options = options or DiffOptions()
    side_a = Side("A", a)
    try:
        side_b = Side("B", b)
    except BaseException:
        side_a.close()
        raise
    differ = PageDiffer(max_hunks=options.max_hunks, use_numpy=options.use_numpy)
    try:
        return _diff(side_a, side_b, options, differ)
    finally:
        differ.close()
        side_a.close()
        side_b.close()


def _diff(side_a: Side, side_b: Side, options: DiffOptions, differ: PageDiffer) -> DiffResult:
    matching = match_processes(side_a.processes, side_b.processes, options.match)
    ctx = Context(side_a, side_b, options, matching)
    pages_compared = "pages" not in options.ignore
    inventory = compare_inventory(ctx)
    stats = compare_stats(ctx)
    timens = compare_timens(ctx)
    processes = [_process(ctx, differ, pa, pb, pages_compared) for pa, pb in matching.pairs]
    file_locks = compare_file_locks(ctx)
    cgroups = compare_cgroups(ctx)
    mounts = compare_mounts(ctx)
    images = compare_images(ctx)
    return DiffResult(
        a=side_a.path,
        b=side_b.path,
        match=options.match,
        ignored=sorted(options.ignore),
        pages_compared=pages_compared,
        inventory=inventory,
        stats=stats,
        processes=processes,
        timens=timens,
        file_locks=file_locks,
        cgroups=cgroups,
        mounts=mounts,
        images=images,
    ).settle()


def _process(
    ctx: Context, differ: PageDiffer, pa: Process | None, pb: Process | None, pages_compared: bool
) -> ProcessDiff:
    """One process pair: the process, its fds, its VMAs and the pages inside them."""
    pd = compare_process(ctx, pa, pb)
    if pa is not None and pb is not None:
        pd.fds = compare_fds(ctx, pa, pb)
    pairs = pair_vmas(pa.vmas if pa else [], pb.vmas if pb else [])
    pd.vmas = compare_vmas(ctx, pairs)
    if pages_compared:
        pages = compare_pages(ctx, differ, pa, pb, pairs)
        _add_pages(pd, pages)
    return pd


def _add_pages(pd: ProcessDiff, pages: PageChanges) -> None:
    """The page diff's tallies into the process's VmaDiffs (both in the order of the VMA pairs)."""
    for vd, t in zip(pd.vmas, pages.per_vma, strict=True):
        vd.pages_differ, vd.pages_added, vd.pages_removed = t.pages_differ, t.pages_added, t.pages_removed
        vd.bytes_differ = t.bytes_differ
        vd.hunks = t.hunks
    pd.pages_outside_vmas = pages.outside_vmas
