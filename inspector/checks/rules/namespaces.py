"""Namespaces criu has to create at restore (CAP_SYS_ADMIN)."""

from __future__ import annotations

import re

from ...model.types import Process
from ..base import Rule
from ..facts import has_cap, make, proc_label

# criu's get_clone_mask(): a task gets a new namespace where its ids differ from its parent's (the root
# task: from inventory.root_ids, criu's own at dump). cgroup namespaces follow the cgroup sets (CRI004).
CLONED = ("pid", "net", "ipc", "uts", "time", "mnt", "user")
# these go into clone() itself; net and time are unshare()d by the child afterwards
IN_CLONE_FLAGS = ("pid", "ipc", "uts", "mnt", "user")

# images criu writes only for a namespace it dumped (the root task's differed from criu's own)
NS_IMAGES = {
    "net": r"netns-\d+\.img",
    "uts": r"utsns-\d+\.img",
    "ipc": r"ipcns-var-\d+\.img",
    "mnt": r"mountpoints-\d+\.img",
    "user": r"userns-\d+\.img",
}


def dumped_namespaces(cp) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for ns, pattern in NS_IMAGES.items():
        files = [f for f in cp.files if re.fullmatch(pattern, f)]
        if files:
            out[ns] = files
    return out


def _root_ids(cp) -> dict[str, int] | None:
    inv = cp.inventory_flags
    return None if inv is None else inv.root_ids


def created_namespaces(cp) -> list[tuple[Process, list[str]]]:
    """(process, namespaces criu creates for it) as criu's get_clone_mask() decides them."""
    root_ids = _root_ids(cp)
    by_pid = {p.pid: p for p in cp.processes}
    out = []
    for proc in cp.processes:
        parent = by_pid.get(proc.ppid) if proc is not cp.root else None
        base = parent.ids if parent is not None else root_ids
        if not base or not proc.ids:
            continue
        differ = [
            ns
            for ns in CLONED
            if f"{ns}_ns_id" in proc.ids and f"{ns}_ns_id" in base and proc.ids[f"{ns}_ns_id"] != base[f"{ns}_ns_id"]
        ]
        if differ:
            out.append((proc, differ))
    return out


def _allowed(target, namespaces) -> bool:
    if target.privileged:
        return True
    if not has_cap(target, "SYS_ADMIN"):
        return False
    # a user namespace's uid_map/gid_map are written from criu's namespace: CAP_SETUID/CAP_SETGID there
    return "user" not in namespaces or (has_cap(target, "SETUID") and has_cap(target, "SETGID"))


def check(cp, target):
    created = created_namespaces(cp)
    root_ids = _root_ids(cp)
    for proc, differ in created:
        ok = _allowed(target, differ)
        forked = [ns for ns in differ if ns in IN_CLONE_FLAGS]
        error = f"Can't fork for {proc.pid}: Operation not permitted" if forked else ""
        where = (
            "was dumped in its own {} namespace(s), not criu's"
            if proc is cp.root
            else "lives in other {} namespace(s) than its parent"
        ).format(", ".join(differ))
        need = (
            ""
            if ok
            else ", which needs CAP_SYS_ADMIN"
            + (" (and CAP_SETUID/CAP_SETGID to map the user namespace)" if "user" in differ else "")
        )
        yield make(
            RULE,
            f"{proc_label(proc)} {where}; criu restore creates them with clone()/unshare(){need}",
            severity="info" if ok else None,
            pid=proc.pid,
            image=f"ids-{proc.pid}.img",
            criu_error="" if ok else error,
            details={"namespaces": differ},
        )
    if root_ids is None:  # images older than inventory.root_ids: the namespace images tell
        images = dumped_namespaces(cp)
        if images:
            kinds = sorted(images)
            ok = _allowed(target, kinds)
            yield make(
                RULE,
                f"the checkpoint carries its own {', '.join(kinds)} namespace(s) "
                f"({', '.join(sum(images.values(), []))}): criu restore creates them with clone(CLONE_NEW*)",
                severity="info" if ok else None,
                image=sorted(sum(images.values(), []))[0],
                criu_error="" if ok else f"Can't fork for {cp.root.pid}: Operation not permitted",
                details={"namespaces": kinds},
            )


RULE = Rule(
    code="CRI019",
    title="namespaces criu must create (CAP_SYS_ADMIN)",
    category="namespaces",
    severity="error",
    rationale=(
        "ids-N.img names every task's namespaces and inventory.img (root_ids) criu's own at dump. criu "
        "restore gives a task a new pid, net, ipc, uts, time, mnt or user namespace wherever its ids differ "
        "from its parent's (for the root task: from root_ids), as a container checkpoint's root task does. "
        "pid, ipc, uts, mnt and user go into the clone() of the task; net and time are unshare()d right "
        "after. Creating them needs CAP_SYS_ADMIN, and mapping a user namespace's ids needs CAP_SETUID and "
        "CAP_SETGID: an unprivileged restore cannot."
    ),
    fix="restore as root (or with CAP_SYS_ADMIN), or dump a tree that shares criu's namespaces",
    criu_error="Can't fork for PID: Operation not permitted",
    check=check,
)
