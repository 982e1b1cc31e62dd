"""Checkpoint-wide facts: inventory (CRIU/image version, flags), dump stats, time namespaces."""

from __future__ import annotations

import re

from ..context import Context
from ..fields import compare_values, flatten
from ..result import ADDED, CHANGED, REMOVED, SAME, Change, Item


def _inventory_category(path: str) -> str:
    return "run-id" if path == "dump_criu_run_id" else "structure"


def compare_inventory(ctx: Context) -> list[Change]:
    ia, ib = ctx.a.cp.inventory, ctx.b.cp.inventory
    fa = flatten(ia) if ia is not None else {}
    fb = flatten(ib) if ib is not None else {}
    fa["criu"] = ctx.a.cp.criu_version_hint
    fb["criu"] = ctx.b.cp.criu_version_hint
    return ctx.kept(compare_values(fa, fb, _inventory_category))


def compare_stats(ctx: Context) -> list[Change]:
    sa, sb = ctx.a.one("stats-dump"), ctx.b.one("stats-dump")
    fa = flatten(sa) if sa is not None else {}
    fb = flatten(sb) if sb is not None else {}
    return ctx.kept(compare_values(fa, fb, "stats"))


def compare_timens(ctx: Context) -> list[Item]:
    names = sorted({n for side in (ctx.a, ctx.b) for n in side.image_names() if re.fullmatch(r"timens-\d+\.img", n)})
    items = []
    for name in names:
        ma, mb = ctx.a.one(name), ctx.b.one(name)
        if ma is None or mb is None:
            status = ADDED if ma is None else REMOVED
            items.append(Item("timens", name, status))
            continue
        changes = ctx.kept(compare_values(flatten(ma), flatten(mb), "timestamps"))
        items.append(Item("timens", name, CHANGED if changes else SAME, changes))
    return items
