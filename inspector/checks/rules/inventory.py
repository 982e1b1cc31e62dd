"""inventory.img facts criu checks before anything else."""

from __future__ import annotations

from ..base import Rule
from ..facts import make

SUPPORTED_IMAGE_VERSIONS = (1, 2)  # CRTOOLS_IMAGES_V1, CRTOOLS_IMAGES_V1_1


def check(cp, target):
    if "inventory.img" not in cp.files:
        yield make(
            RULE,
            "no inventory.img: this is not a complete checkpoint (criu writes it last; a failed "
            "dump leaves images without it)",
            image="inventory.img",
            criu_error="Can't open image inventory.img: No such file or directory",
            fix="the dump did not finish: look at its dump.log and dump again",
        )
        return
    inv = cp.inventory_flags
    if inv is None:
        return  # unreadable: reported as a problem of the checkpoint
    if inv.img_version not in SUPPORTED_IMAGE_VERSIONS:
        yield make(
            RULE,
            f"inventory.img has image version {inv.img_version}; criu restores versions "
            f"{', '.join(map(str, SUPPORTED_IMAGE_VERSIONS))}",
            image="inventory.img",
            criu_error=f"Not supported images version {inv.img_version}",
        )
    if not inv.fdinfo_per_id:
        yield make(
            RULE,
            "inventory.img lacks fdinfo_per_id: images from a criu older than 1.x",
            image="inventory.img",
            criu_error="Too old image, no longer supported",
        )
    if inv.root_cg_set == 0:
        yield make(RULE, "inventory.img has root_cg_set 0", image="inventory.img", criu_error="Corrupted root cgset")


RULE = Rule(
    code="CRI022",
    title="inventory that criu restore rejects",
    category="inventory",
    severity="error",
    rationale=(
        "criu restore reads inventory.img first and stops on an image version it does not know, on "
        "images older than the per-id fdinfo format, or on a corrupted root cgroup set. A directory "
        "without inventory.img is a dump that did not finish."
    ),
    fix="re-dump with a criu that the target's criu can read",
    criu_error="Not supported images version N",
    check=check,
)
