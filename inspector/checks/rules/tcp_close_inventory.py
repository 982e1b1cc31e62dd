"""inventory.tcp_close: the dump closed connections, so the restore must say --tcp-close."""

from __future__ import annotations

from ..base import Rule
from ..facts import make


def check(cp, target):
    inv = cp.inventory_flags
    if inv is None or not inv.tcp_close:
        return
    if target.tcp_close:
        yield make(
            RULE,
            "the checkpoint was dumped with --tcp-close: its TCP connections come back closed",
            severity="info",
            image="inventory.img",
            criu_error="",
            fix="nothing to do",
        )
        return
    yield make(
        RULE,
        "inventory.img has tcp_close set (dumped with --tcp-close); criu restore refuses it without --tcp-close",
        image="inventory.img",
    )


RULE = Rule(
    code="CRI013",
    title="dumped with --tcp-close: restore needs --tcp-close",
    category="network",
    severity="error",
    rationale=(
        "A dump with --tcp-close records it in inventory.img. criu restore checks the inventory "
        "before anything else and stops unless --tcp-close is given again."
    ),
    fix="restore with --tcp-close",
    criu_error="Need to set the --tcp-close options.",
    check=check,
)
