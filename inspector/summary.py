"""``show A B C`` and ``show FOLDER``: one row of facts per checkpoint, as checkpointctl's ``show`` lists them.

No checks run (that is ``scan``): a row is what the images and the
container files say, read the way ``scan`` reads them (same discovery of
checkpoints in folders and archives, same facts), so a row here and a row
of ``scan`` agree field for field. A checkpoint that cannot be read is a
row with its error.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable

SUMMARY_JSON_VERSION = 1

#: the fields of a row, in order (docs/json-show.md, "Many checkpoints")
FIELDS = (
    *("path", "source", "archive", "engine", "container", "id", "image", "runtime", "created", "checkpointed"),
    *("criu", "processes", "threads", "fds", "vmas", "memory_present", "memory_lazy", "memory_in_parent"),
    *("images_bytes", "parent", "error"),
)


def is_many(paths: list[str]) -> bool:
    """True when ``show`` is given more than one path, or a folder whose own entries are two checkpoints or more.

    Only the folder's listing is looked at, never a walk, before it is known to hold checkpoints: ``show /``
    (a slip) must answer at once, as it did before, with "not a CRIU checkpoint".
    """
    from .scan import is_archive_name, is_checkpoint_dir
    from .source import find_images_dir

    if len(paths) != 1:
        return True
    path = paths[0]
    if not os.path.isdir(path) or is_checkpoint_dir(path) or find_images_dir(path)[0] != path:
        return False
    try:
        with os.scandir(path) as entries:
            found = 0
            for entry in entries:
                if (is_archive_name(entry.name) and entry.is_file()) or (
                    entry.is_dir() and is_checkpoint_dir(entry.path)
                ):
                    found += 1
                    if found == 2:
                        return True
    except OSError:
        return False
    return False


def checkpoints(paths: Iterable[str]) -> list[str]:
    from .scan import find_checkpoints

    return find_checkpoints(paths)


def summary_row(path: str) -> dict:
    """The facts of one checkpoint; never raises for bad input (the row's ``error`` says what went wrong)."""
    from .scan import scan_one

    extra: dict = {}

    def more(cp, _reports) -> None:
        meta = cp.source.metadata if cp.source is not None else {}
        extra.update(
            engine=meta.get("engine"),
            id=meta.get("id"),
            runtime=meta.get("runtime"),
            checkpointed=meta.get("checkpointed"),
            images_bytes=_images_bytes(cp.path),
            parent=_parent(cp),
        )

    row = scan_one(path, {}, with_checkpoint=more)
    out = {key: row.get(key, extra.get(key)) for key in FIELDS}
    out.update({k: v for k, v in extra.items() if k in FIELDS})
    return out


def summary_rows(paths: Iterable[str], on_row: Callable[[dict], None] | None = None) -> list[dict]:
    rows = []
    for path in checkpoints(paths):
        row = summary_row(path)
        rows.append(row)
        if on_row is not None:
            on_row(row)
    return rows


def summary_json(rows: list[dict]) -> dict:
    return {"version": SUMMARY_JSON_VERSION, "checkpoints": rows}


def _images_bytes(folder: str) -> int:
    """Bytes of the image directory's own files (a pre-dump parent is counted in its own row)."""
    total = 0
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.is_file(follow_symlinks=False):
                total += entry.stat(follow_symlinks=False).st_size
    return total


def _parent(cp) -> str | None:
    chain = cp.parent_chain()
    if not chain:
        return None
    first = chain[0]
    return cp.source.shown(first) if cp.source is not None else first
