"""CRI104 (host): the running kernel can do what this restore needs."""

from __future__ import annotations

from ..base import Rule
from ..facts import has_cap, make
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
            details=details,
            fix="Restore as root, or on a kernel >= 5.9.",
        )
    if not has_cap(target, "SYS_ADMIN") and version < (6, 8, 0):
        locked = _ttys_with_locked_termios(cp)
        if locked:
            proc, fd = locked[0]
            yield make(
                RULE,
                f"pid {proc.pid} fd {fd.fd} is a terminal whose locked termios criu sets again "
                f"(TIOCSLCKTRMIOS); kernel {release} allows that only with CAP_SYS_ADMIN, CAP_CHECKPOINT_RESTORE "
                "is enough from Linux 6.8 on",
                pid=proc.pid,
                fd=fd.fd,
                image="tty-info.img",
                details={**details, "ttys": len(locked)},
                criu_error=f"tty: Can't set tty params on {fd.file_id}: Operation not permitted",
                fix="Restore on a kernel >= 6.8, grant the restorer CAP_SYS_ADMIN, restore as root, or "
                "criu-inspect repair --fix detach-tty.",
            )
    if any(name.startswith("timens-") for name in cp.files) and not host.has_time_ns:
        yield make(
            RULE,
            f"the checkpoint carries clock offsets (timens-0.img) but kernel {release} has no time namespaces "
            "(5.6+, CONFIG_TIME_NS): CLOCK_MONOTONIC and CLOCK_BOOTTIME will jump for the restored tasks",
            severity="warning",
            details=details,
            fix="Restore on a kernel >= 5.6 built with CONFIG_TIME_NS.",
        )


def _ttys_with_locked_termios(cp):
    """(process, fd) of each terminal fd whose tty-info carries locked termios (restored with TIOCSLCKTRMIOS)."""
    out, seen = [], set()
    for proc in cp.processes:
        for fd in proc.fds:
            tty = fd.tty
            if tty is None or tty.tty_info_id in seen:
                continue
            if tty.termios_locked:
                seen.add(tty.tty_info_id)
                out.append((proc, fd))
    return out


RULE = Rule(
    code="CRI104",
    title="kernel of this host",
    category="host",
    severity="error",
    rationale=(
        "criu needs Linux >= 3.11; criu restore --unprivileged needs CAP_CHECKPOINT_RESTORE (Linux 5.9); "
        "restoring a terminal's locked termios (TIOCSLCKTRMIOS, every --shell-job tty) needs CAP_SYS_ADMIN "
        "before Linux 6.8, CAP_CHECKPOINT_RESTORE after; "
        "monotonic and boot-time clocks are carried over through a time namespace (Linux 5.6, CONFIG_TIME_NS)."
    ),
    fix="Restore on a newer kernel (or as root where the unprivileged mode is the problem).",
    check=check,
    host=True,
)
