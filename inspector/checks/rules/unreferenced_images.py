"""Images no task of the tree refers to: a dump directory reused by another dump."""

from __future__ import annotations

from ..base import Rule
from ..facts import make


def check(cp, target):
    stale = cp.unreferenced_images
    if stale:
        yield make(
            RULE,
            f"{len(stale)} image(s) belong to no task of this tree ({', '.join(stale[:8])}"
            f"{', ...' if len(stale) > 8 else ''}): another dump wrote them into the same directory. criu "
            "restore ignores them, but they ship with the checkpoint, their memory and secrets included",
            image=stale[0],
            details={"images": stale},
        )


RULE = Rule(
    code="CRI030",
    title="images no task refers to (a reused dump directory)",
    category="inventory",
    severity="warning",
    rationale=(
        "criu dump writes into the directory it is given without emptying it: dumping again into a "
        "directory that held another dump leaves that dump's core, mm, pagemap and pages images beside the "
        "new ones. criu restore reads only the images the process tree names, so the restore works, but the "
        "checkpoint carries another process's memory (and whatever secrets were in it) wherever it is copied."
    ),
    fix="dump into a new, empty directory, or delete the images this finding lists from a copy",
    criu_error="",
    check=check,
)
