"""The fallback: every image no other comparator covers, compared entry by entry.

Seccomp filters, signal actions, TCP queues, ghost file contents, pipe data...
are not modelled, but a change in them is still a change in the checkpoint.
Raw images (tmpfs tarballs, iptables dumps) are compared as bytes.
"""

from __future__ import annotations

import filecmp
import os
import re
from typing import Any

from ...codec.image import Entry, Image
from ..context import Context
from ..fields import compare_values, flatten, time_category
from ..result import ADDED, CHANGED, REMOVED, SAME, Change, Item
from ..sides import Side

# images that a dedicated comparator reads (pages are compared by the page diff)
COVERED = re.compile(
    r"^(inventory|pstree|files|filelocks|cgroup|tty-info|remap-fpath)\.img$"
    r"|^(core|ids|fs|mm|pagemap|pages|fdinfo|mountpoints|timens)-\d+\.img$"
    r"|^stats-dump$"
)
_PID_NAMED = re.compile(r"^([a-z][a-z0-9_-]*?)-(\d+)\.img$")


def compare_images(ctx: Context) -> list[Item]:
    names_a = {n for n in ctx.a.image_names() if not COVERED.match(n)}
    names_b = {n for n in ctx.b.image_names() if not COVERED.match(n)}
    renamed = {_in_b_numbering(ctx, n): n for n in names_a}
    items = []
    for name_b in sorted(set(renamed) | names_b):
        name_a = renamed.get(name_b)
        if name_a is None:
            items.append(Item("image", name_b, ADDED))
        elif name_b not in names_b:
            items.append(Item("image", name_a, REMOVED))
        else:
            key = name_a if name_a == name_b else f"{name_a} -> {name_b}"
            changes = ctx.kept(_compare_image(ctx, name_a, name_b))
            items.append(Item("image", key, CHANGED if changes else SAME, changes))
    return items


def _in_b_numbering(ctx: Context, name: str) -> str:
    if ctx.matching.how != "tree":
        return name
    m = _PID_NAMED.match(name)
    if m and int(m.group(2)) in ctx.a.by_pid:
        return f"{m.group(1)}-{ctx.matching.map_pid(int(m.group(2)))}.img"
    return name


def _compare_image(ctx: Context, name_a: str, name_b: str) -> list[Change]:
    pa, pb = os.path.join(ctx.a.cp.path, name_a), os.path.join(ctx.b.cp.path, name_b)
    if filecmp.cmp(pa, pb, shallow=False):
        return []
    ia, ea = _entries(ctx.a, name_a)
    ib, eb = _entries(ctx.b, name_b)
    if ea is None or eb is None or ia.name != ib.name:
        return [Change("content", f"{ia.size} bytes", f"{ib.size} bytes", note="bytes differ")]
    fa: dict[str, Any] = {}
    fb: dict[str, Any] = {}
    for side, entries, out in ((ctx.a, ea, fa), (ctx.b, eb, fb)):
        with side.guard():
            for e in entries:
                out.update(flatten(e.message, prefix=f"[{e.index}]."))
                if e.extra:
                    out[f"[{e.index}].extra_data"] = f"{len(e.extra)} bytes, crc {_crc(e.extra)}"
    return compare_values(fa, fb, time_category)


def _entries(side: Side, name: str) -> tuple[Image, list[Entry] | None]:
    """The image and its entries (None for raw data or a kind without a schema: compared as bytes)."""
    with side.guard():
        image = side.cp.image(name)
        assert image is not None  # image_names() lists only files that are there
        return image, None if image.raw or not image.known else image.entries


def _crc(data: bytes) -> str:
    import zlib

    return f"{zlib.crc32(data):08x}"
