"""CRI106 (host): cgroup v2 delegation for an unprivileged restore that is to restore cgroups."""

from __future__ import annotations

import os

from ..base import Rule
from ..facts import make, restoring_uid
from ..host import current_host

# names cgroup.img gives the v2 (unified) hierarchy
V2_NAMES = ("", "unified")


def check(cp, target, host=None):
    host = host or current_host()
    if target.privileged or target.manage_cgroups in ("ignore", "none") or not cp.cgroups:
        return
    paths = sorted(
        {
            c["path"]
            for cg in cp.cgroups.values()
            for c in cg.controllers
            if c["name"] in V2_NAMES and c["path"] not in ("", "/")
        }
    )
    if not paths:
        return
    uid = restoring_uid(cp, target)
    mount = host.cgroup2_mount
    if mount is None:
        yield make(
            RULE,
            f"the checkpoint puts tasks into cgroup v2 {', '.join(paths)} but this host has no cgroup2 mount",
            details={"paths": paths},
        )
        return
    for path in paths:
        full = os.path.join(mount, path.lstrip("/"))
        probe = full
        while not os.path.exists(probe) and probe != mount:
            probe = os.path.dirname(probe)  # criu would have to create it: the nearest existing parent decides
        try:
            st = os.stat(os.path.join(probe, "cgroup.procs"))
            owner = st.st_uid
        except (OSError, ValueError):
            owner = None
        if owner != uid:
            what = "exists" if probe == full else f"does not exist (nearest existing: {probe})"
            yield make(
                RULE,
                f"cgroup v2 {path}: {full} {what} and is not delegated to uid {uid} (cgroup.procs owned by "
                f"{'uid ' + str(owner) if owner is not None else 'nobody readable'}); criu cannot move the restored "
                "tasks there",
                details={"path": path, "host_path": full, "owner": owner, "uid": uid},
            )


RULE = Rule(
    code="CRI106",
    title="cgroup v2 delegation to the restoring user",
    category="host",
    severity="warning",
    rationale=(
        "An unprivileged restore that restores cgroups must create the dumped cgroups and write the tasks' pids "
        "into their cgroup.procs; on cgroup v2 that needs a subtree delegated to the user (the directory and its "
        "cgroup.procs owned by them, as systemd's Delegate=yes does)."
    ),
    fix=(
        "Restore with --manage-cgroups=ignore (the tasks stay in criu's cgroup), or delegate a cgroup v2 subtree "
        "to the restoring user (chown the directory and its cgroup.procs, cgroup.subtree_control)."
    ),
    check=check,
    criu_error="Unable to mount tmpfs in .criu.cgyard: Operation not permitted",
    host=True,
)
