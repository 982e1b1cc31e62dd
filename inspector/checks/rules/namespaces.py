"""Namespaces criu has to create at restore (CAP_SYS_ADMIN)."""

from __future__ import annotations

import re

from ..base import Rule
from ..facts import has_cap, make, proc_label

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


def check(cp, target):
    root = cp.root
    privileged = has_cap(target, "SYS_ADMIN")
    images = dumped_namespaces(cp)
    if images:
        kinds = sorted(images)
        yield make(
            RULE,
            f"the checkpoint carries its own {', '.join(kinds)} namespace(s) ({', '.join(sum(images.values(), []))}): "
            "criu restore creates them with clone(CLONE_NEW*)",
            severity="info" if privileged else None, image=sorted(sum(images.values(), []))[0],
            criu_error="" if privileged else None, details={"namespaces": kinds},
        )  # fmt: skip
    for proc in cp.processes[1:]:
        differ = sorted(ns for ns, ident in proc.namespaces.items() if root.namespaces.get(ns) not in (None, ident))
        if not differ:
            continue
        yield make(
            RULE,
            f"{proc_label(proc)} lives in other {', '.join(differ)} namespace(s) than the root task; criu creates "
            "them while forking it",
            severity="info" if privileged else None, pid=proc.pid, image=f"ids-{proc.pid}.img",
            criu_error="" if privileged else None, details={"namespaces": differ},
        )  # fmt: skip


RULE = Rule(
    code="CRI019",
    title="namespaces criu must create (CAP_SYS_ADMIN)",
    category="namespaces",
    severity="error",
    rationale=(
        "ids-N.img names every task's namespaces. Where a task's net, mnt, ipc, uts, pid, cgroup or "
        "time namespace differs from the root task's, or the root task's own differed from criu's at "
        "dump (netns-N.img, mountpoints-N.img ... exist), criu restore recreates the namespace with "
        "clone()/unshare(), which needs CAP_SYS_ADMIN (over the user namespace). An unprivileged "
        "restore cannot."
    ),
    fix="restore as root or with CAP_SYS_ADMIN, or dump only tasks that share the root task's namespaces",
    criu_error="Can't fork for PID: Operation not permitted",
    check=check,
)
