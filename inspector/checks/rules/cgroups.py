"""cgroup.img: criu restore moves the tree back into its cgroups."""

from __future__ import annotations

from ..base import Rule
from ..facts import has_cap, make


def _paths(cp) -> list[str]:
    out = []
    for cg in cp.cgroups.values():
        for ctl in cg.controllers:
            if ctl.get("path") not in (None, "", "/"):
                out.append(f"{ctl.get('name') or 'cgroup2'}:{ctl.get('path')}")
    return sorted(set(out))


def check(cp, target):
    if "cgroup.img" not in cp.files or not cp.cgroups:
        return
    paths = _paths(cp)
    shown = ", ".join(paths[:6]) + (" ..." if len(paths) > 6 else "") if paths else "the dumped cgroup set"
    mode = target.manage_cgroups
    if mode == "ignore":
        yield make(
            RULE,
            f"cgroup.img records {shown}; with --manage-cgroups=ignore the tree stays in criu's own cgroups "
            "and their limits (e.g. pids.max, memory.max) are not restored",
            severity="warning",
            image="cgroup.img",
            criu_error="",
            details={"cgroups": paths},
            fix="accept the loss, or restore as root to get the cgroups back",
        )
        return
    if target.privileged or has_cap(target, "SYS_ADMIN"):
        yield make(
            RULE,
            f"cgroup.img records {shown}: criu restore will create (or join) these cgroups and move the tree into them",
            severity="info",
            image="cgroup.img",
            criu_error="",
            details={"cgroups": paths},
            fix="nothing to do; --manage-cgroups=ignore keeps the tree in criu's cgroups instead",
        )
        return
    if target.cgroup_yard:
        yield make(
            RULE,
            f"cgroup.img records {shown}: with --cgroup-yard {target.cgroup_yard} criu mounts no tmpfs of its "
            "own, but it still mounts any controller missing there and writes the tasks into each cgroup's "
            "cgroup.procs, so every controller must be mounted in the yard and the cgroups delegated to the "
            "restoring user",
            severity="warning",
            image="cgroup.img",
            criu_error="",
            details={"cgroups": paths},
            fix="mount every controller in the yard and delegate the cgroups (chown) to the restoring user, or "
            "restore with --manage-cgroups=ignore",
        )
        return
    yield make(
        RULE,
        f"cgroup.img records {shown}: to restore them criu mounts a tmpfs 'cgroup yard' and the cgroup "
        "controllers, which an unprivileged user cannot do",
        image="cgroup.img",
        details={"cgroups": paths},
    )


RULE = Rule(
    code="CRI004",
    title="cgroups recorded in the checkpoint (cgroup.img)",
    category="cgroups",
    severity="error",
    rationale=(
        "A dump writes cgroup.img when the tasks' cgroup set differs from criu's own (root dumps always "
        "record one). On restore criu (default --manage-cgroups=soft) mounts a tmpfs 'cgroup yard' with "
        "every controller to recreate and join those cgroups. Mounting needs CAP_SYS_ADMIN, so "
        "`criu restore --unprivileged` dies before any task is created."
    ),
    fix=(
        "restore with --manage-cgroups=ignore (or --cgroup-yard DIR with the controllers mounted and the cgroups "
        "delegated), or criu-inspect repair --fix cgroup-root (drop the recorded cgroups)"
    ),
    criu_error="Unable to mount tmpfs in .criu.cgyard.XXXXXX: Operation not permitted",
    check=check,
)
