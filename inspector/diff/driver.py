"""diff_checkpoints: load both sides, pair their processes, run every comparator."""

from __future__ import annotations

import os

from .comparators.fds import compare_fds
from .comparators.images import compare_images
from .comparators.inventory import compare_inventory, compare_stats, compare_timens
from .comparators.process import compare_process
from .comparators.tree_wide import compare_cgroups, compare_file_locks, compare_mounts
from .comparators.vmas import compare_pages, compare_vmas, pair_vmas
from .context import Context, DiffOptions
from .match import match_processes
from .pagediff import PageDiffer
from .result import DiffResult
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
    result = DiffResult(
        a=side_a.path,
        b=side_b.path,
        match=options.match,
        ignored=sorted(options.ignore),
        pages_compared="pages" not in options.ignore,
    )
    matching = match_processes(side_a.processes, side_b.processes, options.match)
    ctx = Context(side_a, side_b, options, matching, result)
    compare_inventory(ctx)
    compare_stats(ctx)
    compare_timens(ctx)
    for pa, pb in matching.pairs:
        pd = compare_process(ctx, pa, pb)
        if pa is not None and pb is not None:
            pd.fds = compare_fds(ctx, pa, pb)
        vmas = compare_vmas(ctx, pa, pb, pair_vmas(pa.vmas if pa else [], pb.vmas if pb else []))
        if result.pages_compared:
            compare_pages(ctx, differ, pd, pa, pb, vmas)
        pd.vmas = [vd for vd, _, _ in vmas]
        result.processes.append(pd)
    compare_file_locks(ctx)
    compare_cgroups(ctx)
    compare_mounts(ctx)
    compare_images(ctx)
    return result.settle()
