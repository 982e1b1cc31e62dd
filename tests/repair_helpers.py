"""Helpers for the repair tests: hashing a directory, comparing two checkpoints file by file."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path


def dir_hashes(path: Path) -> dict[str, str]:
    """sha256 of every file (symlinks by their target), to prove an input is unchanged."""
    out = {}
    for name in sorted(os.listdir(path)):
        full = Path(path) / name
        if full.is_symlink():
            out[name] = "link:" + os.readlink(full)
        elif full.is_file():
            h = hashlib.sha256()
            with open(full, "rb") as fh:
                for chunk in iter(lambda: fh.read(1 << 20), b""):
                    h.update(chunk)
            out[name] = h.hexdigest()
    return out


def differing_files(a: Path, b: Path) -> tuple[set[str], set[str], set[str]]:
    """(names whose bytes differ, names only in a, names only in b), compared byte by byte."""
    ha, hb = dir_hashes(a), dir_hashes(b)
    changed = {n for n in ha.keys() & hb.keys() if ha[n] != hb[n]}
    return changed, set(ha) - set(hb), set(hb) - set(ha)


def decoded(path: Path, name: str) -> list:
    from inspector.codec.image import open_image

    return [e.message for e in open_image(Path(path) / name).entries]
