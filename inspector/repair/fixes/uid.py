"""uid=UID[:GID]: make every task run as UID:GID, without capabilities.

A non-root restorer can only setresuid() to itself and cannot grant
capabilities, so all eight ids of every thread's creds are rewritten and the
permitted, effective, inheritable and ambient sets are emptied (keeping
CRIU's word count). Observed on CRIU 4.2: with bounding-set, the root-made
plain-devnull (and, with detach-tty, tty) restored as uid 1001.
"""

from __future__ import annotations

import os
import re
from typing import Any

from ...errors import InspectError
from ...model import names
from ...model.checkpoint import Checkpoint
from ..refs import file_uses
from ..workspace import FixRefused, Workspace
from . import Fix
from .common import cap_list, host_file_state, may_access

NAME = "uid"
ID_FIELDS = ("uid", "euid", "suid", "fsuid")
GID_FIELDS = ("gid", "egid", "sgid", "fsgid")
EMPTIED_CAPS = ("cap_prm", "cap_eff", "cap_inh", "cap_amb")


def parse(arg: str | None) -> tuple[int, int]:
    if not arg:
        raise ValueError("uid needs a value: --fix uid=UID[:GID]")
    uid_text, _, gid_text = arg.partition(":")
    try:
        uid = int(uid_text)
        gid = int(gid_text) if gid_text else uid
    except ValueError:
        raise ValueError(f"uid=UID[:GID] takes numbers, not {arg!r}") from None
    if not (0 <= uid < 2**32 - 1 and 0 <= gid < 2**32 - 1):
        raise ValueError(f"uid/gid out of range: {arg!r}")
    return uid, gid


def creds_location(ws: Workspace, pid: int, tid: int, fix: str = NAME) -> tuple[str, str] | None:
    """(image, field prefix) holding a thread's creds: core-TID.img (CRIU >= 3) or creds-PID.img (older).

    None for a zombie or dead task (CRIU records no creds for it); refused for a live one without.
    """
    core_name = f"core-{tid}.img"
    core = None
    if ws.has(core_name):
        entries = ws.image(core_name).entries
        if not entries:
            raise InspectError(os.path.join(ws.path, core_name), "core image has no entry")
        core = entries[0].message
        if core.HasField("thread_core") and core.thread_core.HasField("creds"):
            return core_name, "thread_core.creds."
    if ws.has(f"creds-{pid}.img"):
        return f"creds-{pid}.img", ""
    if core is not None and core.HasField("tc") and names.TASK_STATE.get(core.tc.task_state) in ("zombie", "dead"):
        return None
    raise FixRefused(fix, f"no credentials recorded for thread {tid} of pid {pid}")


def all_creds(ws: Workspace, fix: str) -> list[tuple[int, int, str, str]]:
    """(pid, tid, image, prefix) of every live thread's creds, each image once."""
    out, seen = [], set()
    for pid, tid in ws.task_ids():
        loc = creds_location(ws, pid, tid, fix)
        if loc is None or loc[0] in seen:
            continue
        seen.add(loc[0])
        out.append((pid, tid, *loc))
    return out


def creds_of(ws: Workspace, image: str, prefix: str):
    msg = ws.image(image).entries[0].message
    return msg.thread_core.creds if prefix else msg


def apply(ws: Workspace, arg: str | None) -> None:
    try:
        uid, gid = parse(arg)
    except ValueError as exc:
        raise FixRefused(NAME, str(exc)) from None
    userns = ws.images_of_kind("USERNS")
    if userns:
        raise FixRefused(
            NAME,
            f"the tree has its own user namespace ({', '.join(userns)}): its ids are namespace "
            "ids mapped by uid_map/gid_map, which this fix does not rewrite",
        )
    ws.target_hints.update(uid=uid, gid=gid)
    losses: dict[int, list[int]] = {}
    for pid, tid, image, prefix in all_creds(ws, NAME):
        entry = ws.image(image).entries[0]
        creds = creds_of(ws, image, prefix)
        label = f"#0 tid {tid}" if prefix else f"#0 pid {pid}"
        lost = 0
        for key in EMPTIED_CAPS:
            lost |= names.caps_from_words(getattr(creds, key))
        groups = list(creds.groups)
        for key in ID_FIELDS:
            ws.set_field(image, entry, prefix + key, uid, label)
        for key in GID_FIELDS:
            ws.set_field(image, entry, prefix + key, gid, label)
        for key in EMPTIED_CAPS:
            words = list(getattr(creds, key))
            ws.set_field(image, entry, prefix + key, [0] * len(words), label)
        if lost:
            losses.setdefault(lost, []).append(pid)
        if groups and groups != [gid] and tid == pid:
            ws.note(
                "warning",
                f"pid {pid} records supplementary groups {groups}: CRIU calls setgroups() unless the "
                "restorer's own groups are exactly these, which an unprivileged restorer cannot do",
            )

    for lost, pids in losses.items():
        pids = sorted(set(pids))
        who = f"pid {pids[0]}" if len(pids) == 1 else "pids " + ", ".join(map(str, pids))
        ws.note(
            "warning",
            f"{who} lose{'s' if len(pids) == 1 else ''} {len(names.cap_names(lost))} capabilities "
            f"({cap_list(lost)}): a non-root restorer cannot grant them",
        )

    tty_kept = ws.has("tty-info.img")
    if tty_kept:
        img = ws.image("tty-info.img")
        for entry in img.entries:
            info = entry.message
            label = f"#{entry.index} tty_info {info.id}"
            for key, value in (("uid", uid), ("gid", gid)):
                if info.HasField(key):  # CRIU fchowns the tty only to an owner it recorded
                    ws.set_field("tty-info.img", entry, key, value, label)

    _rewrite_ghost_owners(ws, uid, gid)

    if not any(c.fix == NAME for c in ws.changes):
        raise FixRefused(NAME, f"nothing to change: every task already runs as {uid}:{gid} with no capabilities")
    ws.note("action", f"restore as uid {uid} (criu restore --unprivileged run by that user)")
    _report_files(ws, uid, gid)
    _report_owners(ws, uid)


def _file_entries(cp: Checkpoint) -> dict[int, Any]:
    """files.img's messages by file id: this fix reads their protobuf fields (reg, each kind's fown)."""
    return cp.files_by_id


def _report_files(ws: Workspace, uid: int, gid: int) -> None:
    """Every file the restore reopens must be openable by the new user: say which, and how."""
    cp = ws.checkpoint
    uses = file_uses(cp)
    by_path: dict[tuple[str, str], list] = {}
    for file_id, fe in sorted(_file_entries(cp).items()):
        if not fe.HasField("reg") or file_id not in uses or cp.remaps.get(file_id) is not None:
            continue  # ghosts are re-created by CRIU: see _report_owners
        users = [u for u in uses[file_id] if u.kind in ("fd", "cwd", "root", "exe", "mmap")]
        if not users:
            continue
        want = names.access_mode(fe.reg.flags)
        if any(u.kind == "mmap" and u.detail.split()[1][1] == "w" and "shared" in u.detail for u in users):
            want = "rw"
        by_path.setdefault((ws.path_now(fe.reg.name), want), []).extend(users)
    for (path, want), users in by_path.items():
        ok = may_access(path, uid, gid, want)
        how = "writable" if "w" in want else "readable"
        verdict = "" if ok is None else (" (ok here)" if ok else f" (NOT {how} by {uid}:{gid} here)")
        move = (
            f"; or give the task a copy {uid}:{gid} owns: --fix relocate={os.path.dirname(path)}:NEWDIR"
            if ok is not True and "w" in want
            else ""
        )
        ws.note(
            "action",
            f"{path} must be {how} by {uid}:{gid} ({_users_text(users)}); {host_file_state(path)}{verdict}{move}",
        )


def _users_text(users) -> str:
    parts = [u.describe() for u in users if u.kind != "mmap"]
    maps: dict[int, int] = {}
    for u in users:
        if u.kind == "mmap":
            maps[u.pid] = maps.get(u.pid, 0) + 1
    parts += [f"pid {pid} maps it ({n} mapping{'s' if n > 1 else ''})" for pid, n in maps.items()]
    return ", ".join(parts)


def _rewrite_ghost_owners(ws: Workspace, uid: int, gid: int) -> None:
    """CRIU re-creates a deleted file and chowns it to the recorded owner: only the restorer itself works."""
    cp = ws.checkpoint
    ghost_paths = {}
    for remap in cp.remaps.values():
        fe = _file_entries(cp).get(remap.orig_id)
        if fe is not None and fe.HasField("reg"):
            ghost_paths[remap.remap_id] = ws.path_now(fe.reg.name)
    for name in ws.images_of_kind("GHOST_FILE"):
        entry = ws.image(name).entries[0]
        ws.set_field(name, entry, "uid", uid, "#0")
        ws.set_field(name, entry, "gid", gid, "#0")
        number = re.fullmatch(r"ghost-file-(\d+)\.img", name)
        path = ghost_paths.get(int(number.group(1))) if number else None
        if path is None:
            ws.note(
                "action",
                f"{name}: CRIU re-creates the deleted file in its original directory, which must be "
                f"writable by {uid}:{gid}",
            )
            continue
        where = os.path.dirname(path)
        ws.note(
            "action",
            f"{name}: CRIU re-creates the deleted file {path} as {os.path.basename(path)}.cr.N.ghost "
            f"in {where}, which must be writable by {uid}:{gid}; {host_file_state(where)}",
        )


def _report_owners(ws: Workspace, uid: int) -> None:
    cp = ws.checkpoint
    for fe in _file_entries(cp).values():
        for f, value in fe.ListFields():
            fown = getattr(value, "fown", None) if f.message_type is not None else None
            if fown is not None and (fown.pid or fown.signum) and fown.euid != uid:
                ws.note(
                    "warning",
                    f"file {fe.id} has an owner for signals (F_SETOWN, euid {fown.euid}): CRIU "
                    f"restores it as that euid, which uid {uid} cannot take",
                )


FIX = Fix(
    NAME,
    "run every task as UID[:GID] (all eight ids) with empty permitted/effective/inheritable/ambient capabilities",
    apply,
    arg="UID[:GID]",
    arg_required=True,
    addresses=("CRI005", "CRI006", "CRI002", "CRI009"),
)
