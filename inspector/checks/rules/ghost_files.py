"""Deleted files kept in the checkpoint: restore re-creates them next to the original path."""

from __future__ import annotations

import os

from ..base import Rule
from ..facts import has_cap, make, restoring_uid


def ghosts(cp):
    """(remap, regular file or None, ghost file or None) for each GHOST remap."""
    for orig_id, remap in sorted(cp.remaps.items()):
        if remap.kind != "GHOST":
            continue
        yield remap, cp.reg_files.get(orig_id), cp.ghost_file(remap)


def _users(cp, file_id):
    out = []
    for proc in cp.processes:
        fds = [fd.fd for fd in proc.fds if fd.file_id == file_id]
        maps = [v.start for v in proc.vmas if v.shmid == file_id and v.path]
        if fds or maps:
            out.append((proc, fds, maps))
    return out


def check(cp, target):
    uid = restoring_uid(cp, target)
    can_create = target.privileged or has_cap(target, "DAC_OVERRIDE") and has_cap(target, "CHOWN")
    for remap, reg, gf in ghosts(cp):
        path = reg.name if reg is not None else f"file id {remap.orig_id}"
        ghost_path = f"{path}.cr.{remap.remap_id:x}.ghost"  # criu's ghost_path(): "%s.cr.%x.ghost"
        image = remap.ghost_image
        owner = gf.uid if gf is not None else None
        record = cp.repair_record
        if record is not None and image in record.ghost_owners:
            owner = record.ghost_owners[image]  # a repair rewrote it; the directory is still the owner's
        users = _users(cp, remap.orig_id)
        proc, fds, maps = users[0] if users else (None, [], [])
        where = (f"fd {','.join(map(str, fds))}" if fds else "a mapping") if proc else "a file"
        who = f"pid {proc.pid} ({proc.comm}) " if proc else ""
        if not can_create and owner is not None and owner != uid:
            yield make(
                RULE,
                f"{who}{where} -> {path} (deleted, owner uid {owner}): restore re-creates it as {ghost_path} in "
                f"{os.path.dirname(path) or '/'} and chowns it to uid {owner}; uid {uid} can do neither in a "
                "directory it does not own",
                pid=proc.pid if proc else None,
                fd=fds[0] if fds else None,
                image=image,
                details={"path": path, "ghost_path": ghost_path, "owner": owner},
            )
        else:
            yield make(
                RULE,
                f"{who}{where} -> {path} (deleted): restore re-creates it from {image} as {ghost_path}; "
                f"{os.path.dirname(path) or '/'} must exist and be writable by the restoring user",
                severity="info",
                pid=proc.pid if proc else None,
                fd=fds[0] if fds else None,
                image=image,
                criu_error="",
                fix="make sure the directory exists on the target",
                details={"path": path, "ghost_path": ghost_path, "owner": owner},
            )


RULE = Rule(
    code="CRI009",
    title="deleted (ghost) file re-created at restore",
    category="files",
    severity="error",
    rationale=(
        "A file that was open or mapped after being unlinked is saved in ghost-file-N.img. On restore "
        "criu creates it again as '<path>.cr.N.ghost' in the original directory, restores its owner and "
        "mode, opens it and unlinks it. That needs write access to the directory and, for a file owned "
        "by someone else, CAP_CHOWN: an unprivileged restore of a root task's deleted file fails."
    ),
    fix=(
        "restore as root, make the directory writable for the restoring user, or criu-inspect repair "
        "--fix relocate=OLD:NEW (move the ghost into a directory the user owns) and --fix uid=UID"
    ),
    criu_error="Can't create ghost regfile: Permission denied",
    check=check,
)
