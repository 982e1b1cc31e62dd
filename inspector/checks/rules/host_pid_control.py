"""CRI102 (host): can criu choose pids here (clone3 set_tid, or ns_last_pid)?"""

from __future__ import annotations

from ..base import Rule
from ..facts import make
from ..host import current_host


def check(cp, target, host=None):
    host = host or current_host()
    if host.clone3_set_tid:
        return
    why = (
        "clone3() is not available (ENOSYS: an old kernel, or a seccomp profile that hides it)"
        if not host.clone3
        else f"kernel {host.kernel_release} predates clone3 set_tid (5.5)"
    )
    if host.has_ns_last_pid:
        if target.privileged or host.kernel_version >= (5, 9, 0):
            return  # criu falls back to writing ns_last_pid, which root (or CAP_CHECKPOINT_RESTORE) may do
        yield make(
            RULE,
            f"{why}, and writing {host.ns_last_pid} needs CAP_SYS_ADMIN before kernel 5.9 "
            f"(this one is {host.kernel_release}); an unprivileged restorer cannot set pids",
            details={"clone3": host.clone3, "ns_last_pid": True, "kernel": host.kernel_release},
        )
        return
    yield make(
        RULE,
        f"{why}, and {host.ns_last_pid} does not exist (kernel built without CONFIG_CHECKPOINT_RESTORE)",
        details={"clone3": host.clone3, "ns_last_pid": False, "kernel": host.kernel_release},
    )


RULE = Rule(
    code="CRI102",
    title="pid control (clone3 set_tid, ns_last_pid) on this host",
    category="host",
    severity="error",
    rationale=(
        "To give each task its old pid criu uses clone3() with set_tid (Linux 5.5+) or, failing that, writes the "
        "pid it wants minus one to /proc/sys/kernel/ns_last_pid before fork(). Without either (clone3 hidden by a "
        "container's seccomp profile, a kernel without CONFIG_CHECKPOINT_RESTORE) no task gets its pid back."
    ),
    fix=(
        "Restore on a kernel >= 5.5 with clone3 allowed (container runtimes: a seccomp profile that permits clone3), "
        "or one with CONFIG_CHECKPOINT_RESTORE (ns_last_pid) and the privilege to write it."
    ),
    check=check,
    criu_error="Can't fork for %d: Invalid argument",
    host=True,
)
