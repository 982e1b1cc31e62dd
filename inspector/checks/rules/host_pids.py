"""CRI101 (host): pids and tids of the image already in use on this machine.

criu restore gives every task and thread the id it had (clone3 set_tid, or
ns_last_pid); an id that a live process or thread holds here makes that
clone fail with EEXIST. Not a problem when the tree had its own pid
namespace: criu then creates a fresh one.
"""

from __future__ import annotations

from ..base import Rule
from ..facts import make, proc_label
from ..host import current_host


def own_pid_namespace(cp) -> bool:
    """Was the dumped tree in a pid namespace of its own (criu restores it into a new one)?"""
    inv = cp.inventory
    if inv is None or not inv.HasField("root_ids") or not cp.processes:
        return False
    task_ns = cp.root.ids.get("pid_ns_id")
    return task_ns is not None and task_ns != inv.root_ids.pid_ns_id


def check(cp, target, host=None):
    host = host or current_host()
    if own_pid_namespace(cp):
        return
    pid_max = host.pid_max
    for proc in cp.processes:
        ids = [proc.pid] + [t for t in proc.threads if t != proc.pid]
        busy = [t for t in ids if host.pid_in_use(t)]
        too_big = [t for t in ids if pid_max is not None and t >= pid_max]
        for tid in busy:
            role = "pid" if tid == proc.pid else "thread id"
            held = host.pid_owner(tid)
            yield make(
                RULE,
                f"{proc_label(proc)}: {role} {tid} is already in use here (by {held!r}); "
                f"criu cannot create the {'task' if tid == proc.pid else 'thread'} with that id",
                pid=proc.pid, criu_error=f"Can't fork for {proc.pid}: File exists" if tid == proc.pid else "",
                details={"id": tid, "thread": tid != proc.pid, "held_by": held},
            )  # fmt: skip
        if too_big:
            yield make(
                RULE,
                f"{proc_label(proc)}: id(s) {', '.join(map(str, too_big))} are not below this host's pid_max "
                f"({pid_max}); the kernel cannot hand them out",
                pid=proc.pid, fix="Raise /proc/sys/kernel/pid_max on this host (sysctl kernel.pid_max), or restore "
                "inside a new pid namespace.",
                details={"ids": too_big, "pid_max": pid_max},
            )  # fmt: skip


RULE = Rule(
    code="CRI101",
    title="pid or thread id in use on this host",
    category="host",
    severity="error",
    rationale=(
        "criu restore recreates every task and thread with the id it had at dump time (clone3 with set_tid, or "
        "writing ns_last_pid before fork). If a process or thread on the restoring host holds one of those ids "
        "the clone fails with EEXIST and the restore stops. Ids at or above kernel.pid_max cannot be created at all."
    ),
    fix=(
        "Restore inside a fresh pid namespace (a new container, or the tree's own pid namespace dumped with it), or "
        "stop the process that holds the id on this host and restore again."
    ),
    check=check,
    criu_error="Can't fork for %d: File exists",
    host=True,
)
