"""show stats: CRIU's own statistics of the dump (stats-dump) and of a restore (stats-restore).

CRIU writes one ``stats_entry`` to ``stats-dump`` at the end of every dump
and to ``stats-restore`` after a restore, in the image directory (criu/stats.c
write_stats). Times are microseconds: encode_time stores ``tv_sec *
USEC_PER_SEC + tv_usec`` of the time accumulated between timing_start and
timing_stop (criu/stats.c:113-119), and display_stats prints them with "us"
(criu/stats.c:121-150). Where each one is measured, in CRIU 4.2:

- freezing_time: seizing and freezing the tree (criu/seize.c collect_pstree, timing_start/stop(TIME_FREEZING));
- frozen_time: from frozen until the tasks are resumed or killed at the end of the dump (criu/seize.c ->
  criu/cr-dump.c cr_dump_finish, TIME_FROZEN): how long the application stood still;
- memdump_time: draining memory into page pipes (criu/mem.c, criu/page-xfer.c, TIME_MEMDUMP);
- memwrite_time: writing the pages to the images (TIME_MEMWRITE);
- irmap_resolve: resolving inotify/fanotify watches to paths (criu/irmap.c, TIME_IRMAP_RESOLVE);
- pages_*: counters of pages scanned, skipped because the parent (pre-dump) has them, written, and left
  lazy; shpages_*: the same for shared memory; page_pipes / page_pipe_bufs: pipes used to drain memory.

Podman has criu write stats-dump into the container's directory, beside
``checkpoint/`` (``--work-path``): the model reads it from there, and this module looks for
stats-restore there too.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from ..codec.image import open_image
from ..errors import InspectError
from ..model.names import PAGE_SIZE
from .container import engine_file, shown

# (field, label, unit) in the order criu prints them (criu/stats.c display_stats); unit "us" or "pages" or ""
DUMP_FIELDS = [
    ("freezing_time", "freezing time", "us"),
    ("frozen_time", "frozen time", "us"),
    ("memdump_time", "memory dump time", "us"),
    ("memwrite_time", "memory write time", "us"),
    ("irmap_resolve", "irmap resolve time", "us"),
    ("pages_scanned", "pages scanned", "pages"),
    ("pages_skipped_parent", "pages skipped (in parent)", "pages"),
    ("pages_written", "pages written", "pages"),
    ("pages_lazy", "pages lazy", "pages"),
    ("page_pipes", "page pipes", ""),
    ("page_pipe_bufs", "page pipe buffers", ""),
    ("shpages_scanned", "shared pages scanned", "pages"),
    ("shpages_skipped_parent", "shared pages skipped (in parent)", "pages"),
    ("shpages_written", "shared pages written", "pages"),
]
RESTORE_FIELDS = [
    ("forking_time", "forking time", "us"),
    ("restore_time", "restore time", "us"),
    ("pages_compared", "pages compared", "pages"),
    ("pages_skipped_cow", "pages skipped (COW)", "pages"),
    ("pages_restored", "pages restored", "pages"),
]


@dataclass
class Stat:
    name: str  # the stats.proto field name
    label: str
    value: int
    unit: str  # "us", "pages" or ""

    @property
    def bytes(self) -> int | None:
        return self.value * PAGE_SIZE if self.unit == "pages" else None


@dataclass
class StatsFile:
    file: str  # as shown to the user
    kind: str  # "dump" or "restore"
    stats: list[Stat] = field(default_factory=list)


@dataclass
class StatsView:
    dump: StatsFile | None
    restore: StatsFile | None


def stats_view(cp) -> StatsView:
    return StatsView(
        cp._soft(_read, cp, "stats-dump", "dump", DUMP_FIELDS),
        cp._soft(_read, cp, "stats-restore", "restore", RESTORE_FIELDS),
    )


def _path(cp, name: str) -> str | None:
    if name in cp.files:
        return os.path.join(cp.path, name)
    if name == "stats-dump" and cp.source is not None and name in cp.source.extra_images:
        return cp.source.extra_images[name]
    return engine_file(cp, name)  # podman: the container's work dir, beside checkpoint/


def _read(cp, name: str, kind: str, fields) -> StatsFile | None:
    path = _path(cp, name)
    if path is None:
        return None
    if name == "stats-dump":
        entry = cp.one(name)  # the model's image (it knows podman's place for stats-dump)
    else:
        img = open_image(path)
        if img.name != "STATS":
            raise InspectError(img.path, f"wrong magic: {name} must hold STATS, has the magic of {img.name}")
        entries = img.entries
        entry = entries[0].message if entries else None
    out = StatsFile(shown(cp, path), kind)
    part = getattr(entry, kind) if entry is not None and entry.HasField(kind) else None
    if part is None:
        return out
    have = {f.name for f, _ in part.ListFields()}
    for fname, label, unit in fields:
        if fname in have:
            out.stats.append(Stat(fname, label, getattr(part, fname), unit))
    return out
