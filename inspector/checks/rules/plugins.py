"""Plugins the dump used: restore needs the same plugins loaded."""

from __future__ import annotations

from ..base import Rule
from ..facts import make


def check(cp, target):
    inv = cp.inventory_flags
    if inv is None:
        return
    plugins = inv.plugins
    if plugins:
        yield make(
            RULE,
            f"dumped with criu plugin(s) {', '.join(plugins)}: criu restore fails unless each is installed "
            "in its plugin directory on the target (and its device, e.g. the GPU, is there)",
            image="inventory.img",
            criu_error=f"Missing required plugin: {plugins[0]}",
            details={"plugins": plugins},
        )


RULE = Rule(
    code="CRI023",
    title="checkpoint requires criu plugins",
    category="inventory",
    severity="warning",
    rationale=(
        "Since criu 4.0 inventory.img lists the plugins that wrote part of the checkpoint (amdgpu, "
        "cuda ...). Restore checks that every one of them is loaded and stops otherwise. Whether they "
        "are installed on the target can only be seen there, so this is a warning."
    ),
    fix="install the plugins on the target (criu --libdir), or dump without them",
    criu_error="Missing required plugin: NAME",
    check=check,
)
