"""Build test cases from real images: decode -> change -> encode.

The corpus has no pre-dump chain (the kernel it was made on lacks soft-dirty
tracking), so ``make_predump_chain`` builds one from a real checkpoint: some of
a process's present page runs move into ``parent/pages-N.img`` (with a parent
pagemap that lists them) and are marked PE_PARENT in the child, exactly as
CRIU's pre-dump + dump would leave them.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from inspector.codec.image import open_image
from inspector.model.names import PAGE_SIZE, PE_PARENT, PE_PRESENT
from inspector.pages import effective_flags, page_count


def write_image(image, path: Path | str) -> None:
    data = image.encode()
    Path(path).write_bytes(data)


def make_predump_chain(src: Path, dest: Path, pid: int, every: int = 2) -> dict:
    """Copy checkpoint ``src`` to ``dest`` with every ``every``-th present run of
    ``pid`` moved into ``dest/parent``. Returns {"moved_pages": N, "moved_runs": [...]}"""
    shutil.copytree(src, dest)
    for p in [dest, *dest.rglob("*")]:
        p.chmod(p.stat().st_mode | 0o200)
    parent = dest.parent / (dest.name + "-predump")
    shutil.copytree(src, parent)
    for p in [parent, *parent.rglob("*")]:
        p.chmod(p.stat().st_mode | 0o200)
    os.symlink(os.path.relpath(parent, dest), dest / "parent")

    pm = open_image(dest / f"pagemap-{pid}.img")
    pages_id = pm.entries[0].message.pages_id
    pages_path = dest / f"pages-{pages_id}.img"
    pages = pages_path.read_bytes()

    child_pages = bytearray()
    parent_pages = bytearray()
    parent_entries = []
    moved_runs = []
    offset = 0
    present_index = 0
    for entry in pm.entries[1:]:
        msg = entry.message
        flags = effective_flags(msg)
        n = page_count(msg)
        if not flags & PE_PRESENT:
            continue
        blob = pages[offset : offset + n * PAGE_SIZE]
        offset += n * PAGE_SIZE
        if present_index % every == 0:
            parent_pages += blob
            parent_entries.append(entry)
            msg.flags = (flags & ~PE_PRESENT) | PE_PARENT
            entry.set_message(msg)
            moved_runs.append((msg.vaddr, n))
        else:
            child_pages += blob
        present_index += 1
    write_image(pm, dest / f"pagemap-{pid}.img")
    pages_path.write_bytes(bytes(child_pages))

    # parent: the same pagemap, with only the moved runs present
    ppm = open_image(parent / f"pagemap-{pid}.img")
    moved = {v for v, _ in moved_runs}
    for entry in ppm.entries[1:]:
        msg = entry.message
        if effective_flags(msg) & PE_PRESENT and msg.vaddr not in moved:
            msg.flags = effective_flags(msg) & ~PE_PRESENT
            entry.set_message(msg)
    write_image(ppm, parent / f"pagemap-{pid}.img")
    (parent / f"pages-{pages_id}.img").write_bytes(bytes(parent_pages))
    return {"moved_pages": sum(n for _, n in moved_runs), "moved_runs": moved_runs, "parent": parent}
