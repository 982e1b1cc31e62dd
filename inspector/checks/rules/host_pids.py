"""CRI101 (host): pids and tids of the image already in use on this machine, or not below its pid_max.

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
    inv = cp.inventory_flags
    if inv is None or inv.root_ids is None or not cp.processes:
        return False
    task_ns = cp.root.ids.get("pid_ns_id")
    return task_ns is not None and task_ns != inv.root_ids.get("pid_ns_id", 0)


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
                pid=proc.pid,
                criu_error=f"Can't fork for {proc.pid}: File exists" if tid == proc.pid else "",
                details={"id": tid, "thread": tid != proc.pid, "held_by": held},
            )
        if too_big:
            yield make(
                RULE,
                f"{proc_label(proc)}: id(s) {', '.join(map(str, too_big))} are not below pid_max ({pid_max}) of "
                "the pid namespace criu restores into here: clone3() refuses a set_tid at or above it with EINVAL "
                "(kernel/pid.c, alloc_pid())",
                pid=proc.pid,
                criu_error=f"Can't fork for {proc.pid}: Invalid argument" if proc.pid in too_big else "",
                fix=f"Raise kernel.pid_max above {max(too_big)} where the tree is restored (sysctl kernel.pid_max; "
                "since Linux 6.14 pid_max belongs to each pid namespace and a new one starts with its "
                "parent's value, so raise it in the namespace criu restores into).",
                details={"ids": too_big, "pid_max": pid_max},
            )


RULE = Rule(
    code="CRI101",
    title="pid or thread id in use, or not below pid_max, on this host",
    category="host",
    severity="error",
    rationale=(
        "criu restore recreates every task and thread with the id it had at dump time (clone3 with set_tid, or "
        "writing ns_last_pid before fork). If a process or thread on the restoring host holds one of those ids "
        "the clone fails with EEXIST and the restore stops. An id at or above pid_max of the pid namespace the "
        "task is created in is refused with EINVAL (kernel/pid.c alloc_pid(); pid_max is per pid namespace "
        "since Linux 6.14, one global value before)."
    ),
    fix=(
        "Restore inside a fresh pid namespace (a new container, or the tree's own pid namespace dumped with it), or "
        "stop the process that holds the id on this host and restore again."
    ),
    check=check,
    criu_error="Can't fork for PID: File exists",
    host=True,
)
