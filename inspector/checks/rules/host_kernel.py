"""CRI104 (host): the running kernel can do what this restore needs."""

from __future__ import annotations

from ..base import Rule
from ..facts import make
from ..host import current_host


def check(cp, target, host=None):
    host = host or current_host()
    release, version = host.kernel_release, host.kernel_version
    details = {"kernel": release}
    if version < (3, 11, 0):
        yield make(RULE, f"kernel {release} is older than 3.11, the oldest criu supports", details=details)
        return
    if not target.privileged and version < (5, 9, 0):
        yield make(
            RULE,
            f"kernel {release} has no CAP_CHECKPOINT_RESTORE (added in 5.9): criu restore --unprivileged cannot work",
            details=details, fix="Restore as root, or on a kernel >= 5.9.",
        )  # fmt: skip
    if any(name.startswith("timens-") for name in cp.files) and not host.has_time_ns:
        yield make(
            RULE,
            f"the checkpoint carries clock offsets (timens-0.img) but kernel {release} has no time namespaces "
            "(5.6+, CONFIG_TIME_NS): CLOCK_MONOTONIC and CLOCK_BOOTTIME will jump for the restored tasks",
            severity="warning", details=details, fix="Restore on a kernel >= 5.6 built with CONFIG_TIME_NS.",
        )  # fmt: skip


RULE = Rule(
    code="CRI104",
    title="kernel of this host",
    category="host",
    severity="error",
    rationale=(
        "criu needs Linux >= 3.11; criu restore --unprivileged needs CAP_CHECKPOINT_RESTORE (Linux 5.9); "
        "monotonic and boot-time clocks are carried over through a time namespace (Linux 5.6, CONFIG_TIME_NS)."
    ),
    fix="Restore on a newer kernel (or as root where the unprivileged mode is the problem).",
    check=check,
    host=True,
)
