"""cgroup-root: restore every task into the restorer's own cgroups.

Both edits are needed (observed on CRIU 4.2): without cgroup.img but with
the task's own cg_set, restore fails with "No set N found"; with cg_set set
to the root set but cgroup.img kept, CRIU still mounts its cgroup yard
(a tmpfs: EPERM unprivileged). So cgroup.img goes and every thread's cg_set
becomes the inventory's root_cg_set, which CRIU treats as "leave in place".
"""

from __future__ import annotations

from ..workspace import FixRefused, Workspace
from . import Fix

NAME = "cgroup-root"
# properties CRIU records that are not limits (bookkeeping or membership)
NOT_LIMITS = (
    "cgroup.procs",
    "tasks",
    "cgroup.clone_children",
    "notify_on_release",
    "cgroup.type",
    "cgroup.subtree_control",
    "cgroup.freeze",
)


def apply(ws: Workspace, arg: str | None) -> None:
    if arg:
        raise FixRefused(NAME, "takes no argument")
    cp = ws.checkpoint
    inv = cp.inventory
    has_image = ws.has("cgroup.img")
    if inv is None or not inv.HasField("root_cg_set"):
        if not has_image:
            raise FixRefused(
                NAME,
                "no cgroup.img and no root_cg_set in the inventory (an unprivileged dump): "
                "the tasks already stay in the restorer's cgroups",
            )
        raise FixRefused(NAME, "the inventory records no root_cg_set, so there is no set to move the tasks to")
    root_set = inv.root_cg_set

    edits = []
    for pid, tid in ws.task_ids():
        name = f"core-{tid}.img"
        if not ws.has(name):
            raise FixRefused(NAME, f"{name} is missing")
        entry = ws.image(name).entries[0]
        core = entry.message
        fields = []
        if core.HasField("thread_core") and core.thread_core.HasField("cg_set"):
            fields.append("thread_core.cg_set")  # CRIU >= 4.0: per thread
        if core.HasField("tc") and core.tc.HasField("cg_set"):
            fields.append("tc.cg_set")  # older images: per task
        edits.append((pid, tid, name, entry, fields))
    old_sets = {_get(e.message, f) for *_, e, fields in edits for f in fields}
    if not has_image and old_sets <= {root_set}:
        raise FixRefused(NAME, f"no cgroup.img and every task is already in the root set {root_set}: nothing to change")

    lost = _limits_lost(cp, old_sets - {root_set})
    if has_image:
        ws.delete_image("cgroup.img", "CRIU would mount its cgroup yard to restore these sets")
    for _pid, tid, name, entry, fields in edits:
        for f in fields:
            ws.set_field(name, entry, f, root_set, f"#0 tid {tid}")

    places = sorted(
        {
            f"{c['name'] or 'cgroup2'}:{c['path']}"
            for s in old_sets - {root_set}
            if (cgroup := cp.cgroups.get(s)) is not None
            for c in cgroup.controllers
            if c["path"] != "/"
        }
    )
    ws.note(
        "warning",
        "the restored process lands in the restorer's own cgroups and loses the ones it was dumped in"
        + (f" ({', '.join(places)})" if places else "")
        + (f" with their limits: {', '.join(lost)}" if lost else " and whatever limits they set"),
    )
    ws.note("info", "restoring with --manage-cgroups=ignore achieves the same without editing the images")


def _get(msg, dotted: str):
    for part in dotted.split("."):
        msg = getattr(msg, part)
    return msg


def _unlimited(value: str) -> bool:
    if value in ("", "max", "-1"):
        return True
    return value.isdigit() and int(value) >= 1 << 60  # memory limits: PAGE_COUNTER_MAX means none


def _limits_lost(cp, sets: set[int]) -> list[str]:
    """name=value of the properties CRIU recorded for the directories of these sets."""
    img = cp.one("cgroup.img")
    if img is None:
        return []
    wanted = {(c["name"], c["path"]) for s in sets if s in cp.cgroups for c in cp.cgroups[s].controllers}
    out = []
    for ctl in img.controllers:
        cname = ",".join(ctl.cnames)

        def walk(d, prefix, cname=cname):
            path = (prefix.rstrip("/") + "/" + d.dir_name.strip("/")) if d.dir_name != "/" else "/"
            if (cname, path) in wanted and path != "/":
                for prop in d.properties:
                    if prop.name not in NOT_LIMITS and not _unlimited(prop.value):
                        out.append(f"{prop.name}={prop.value} ({cname or 'cgroup2'}:{path})")
            for child in d.children:
                walk(child, path)

        for d in ctl.dirs:
            walk(d, "")
    return out


FIX = Fix(
    NAME,
    "delete cgroup.img and put every task in the inventory's root cgroup set (the restorer's own cgroups)",
    apply,
    addresses=("CRI004",),
)
