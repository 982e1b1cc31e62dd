"""What a repair changed, written into OUT so that `check OUT` still knows what was dumped.

After ``--fix uid=1001`` the images say every task ran as uid 1001, but the
files it had open are still the dumping user's (root's): a check that guessed
owners from the rewritten creds said "restorable" where real CRIU 4.2.1 failed
"Can't open file ... Permission denied". The record keeps the creds and ghost
owners as dumped (from the first repair of a chain of repairs), the fixes
applied, and the paths ``relocate`` pointed at files the user chose. criu
restore ignores a file it does not know in the images directory.
"""

from __future__ import annotations

import json
import os

from .. import __version__
from ..model.checkpoint import RECORD_NAME
from .workspace import Workspace

RECORD_VERSION = 1


def build(ws: Workspace, fixes: list[str]) -> dict:
    cp = ws.checkpoint
    earlier = cp.repair_record
    if earlier is not None:
        creds = {str(pid): dict(ids) for pid, ids in earlier.dumped_creds.items()}
        ghosts = dict(earlier.ghost_owners)
        relocated = dict(earlier.relocated)
        applied = list(earlier.fixes)
    else:
        creds = {
            str(p.pid): {k: getattr(p.creds, k) for k in ("uid", "gid", "fsuid", "fsgid")}
            for p in cp.processes
            if p.creds is not None
        }
        ghosts = {}
        for name in cp.files:
            if name.startswith("ghost-file-") and name.endswith(".img"):
                gf = cp.one(name)
                if gf is not None and gf.HasField("uid"):
                    ghosts[name] = gf.uid
        relocated, applied = {}, []
    for old, new in ws.relocations().items():
        relocated[new] = relocated.pop(old, old)
    return {
        "version": RECORD_VERSION,
        "repaired_by": f"criu-inspect {__version__}",
        "fixes": applied + fixes,
        "dumped": {"creds": creds, "ghost_owners": ghosts},
        "relocated": relocated,
    }


def write(directory: str, record: dict) -> None:
    path = os.path.join(directory, RECORD_NAME)
    with open(path, "x") as fh:
        json.dump(record, fh, indent=1, sort_keys=True)
        fh.write("\n")
