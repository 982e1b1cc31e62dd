"""inventory.allow_uprobes: the dump kept uprobes VMAs, so restore needs --allow-uprobes."""

from __future__ import annotations

from ..base import Rule
from ..facts import make


def check(cp, target):
    inv = cp.inventory_flags
    if inv is None or not inv.allow_uprobes:
        return
    if getattr(target, "allow_uprobes", False):
        yield make(
            RULE,
            "dumped with --allow-uprobes: the uprobes pages are restored as plain memory",
            severity="info",
            image="inventory.img",
            criu_error="",
            fix="nothing to do",
        )
        return
    yield make(
        RULE,
        "inventory.img has allow_uprobes set (dumped with --allow-uprobes): criu restore refuses "
        "it without --allow-uprobes",
        image="inventory.img",
    )


RULE = Rule(
    code="CRI024",
    title="dumped with --allow-uprobes: restore needs it too",
    category="inventory",
    severity="error",
    rationale=(
        "A task traced with uprobes has a '[uprobes]' mapping criu normally refuses to dump; "
        "--allow-uprobes dumps it and marks inventory.img. criu restore checks the mark first and "
        "stops unless --allow-uprobes is given again."
    ),
    fix="restore with --allow-uprobes",
    criu_error="Dumped with --allow-uprobes. Need to set it on restore as well.",
    check=check,
)
