"""CRI107 (host): the restoring user's real access to the files criu reopens, on this machine.

The image-only rule (CRI008) has to guess each file's owner; here the owner,
group and mode are read from the file system, and every directory on the way
must be searchable. Ghost files are re-created next to where they were, so
their directory must be writable.
"""

from __future__ import annotations

import os
import stat

from ...model import names
from ..base import Rule
from ..facts import ACCESS_VERB, NEEDED_BITS, make, restoring_gid, restoring_uid
from ..host import current_host


def _bits(st: os.stat_result, uid: int, groups: set[int]) -> int:
    if st.st_uid == uid:
        return (st.st_mode >> 6) & 0o7
    if st.st_gid in groups:
        return (st.st_mode >> 3) & 0o7
    return st.st_mode & 0o7


def _groups(uid: int, gid: int) -> set[int]:
    groups = {gid}
    if os.geteuid() == uid:
        groups.update(os.getgroups())
    else:
        try:
            import grp
            import pwd

            name = pwd.getpwuid(uid).pw_name
            groups.update(g.gr_gid for g in grp.getgrall() if name in g.gr_mem)
        except (KeyError, ImportError):
            pass
    return groups


def _uses(cp):
    """(pid, fd or None, path, access, what, ghost) for every file criu reopens or re-creates."""
    for proc in cp.processes:
        for fd in proc.fds:
            if fd.type == "REG" and fd.path:
                reg = cp.reg_files.get(fd.file_id)
                ghost = reg is not None and reg.id in cp.remaps
                yield proc.pid, fd.fd, fd.path, names.access_mode(fd.open_flags), f"fd {fd.fd}", ghost
        seen = set()
        for vma in proc.vmas:
            if not vma.path or vma.status & names.VMA_AREA_MEMFD or vma.shmid in seen:
                continue
            seen.add(vma.shmid)
            shared_w = vma.status & names.VMA_FILE_SHARED and vma.prot & 0x2
            reg = cp.reg_files.get(vma.shmid)
            flags = reg.flags if reg is not None else 0
            ghost = reg is not None and reg.id in cp.remaps
            yield (
                proc.pid,
                None,
                vma.path,
                "rw" if shared_w else names.access_mode(flags),
                f"mapping at 0x{vma.start:x}",
                ghost,
            )
        for what, path in (("cwd", proc.cwd), ("root", proc.root)):
            if path:
                yield proc.pid, None, path, "r", what, False


def check(cp, target, host=None):
    host = host or current_host()
    if target.privileged or target.has_cap("DAC_OVERRIDE"):
        return
    uid, gid = restoring_uid(cp, target), restoring_gid(cp, target)
    groups = _groups(uid, gid)
    read_search = target.has_cap("DAC_READ_SEARCH")
    reported = set()
    for pid, fd, path, access, what, ghost in _uses(cp):
        key = (path, access, ghost)
        if key in reported:
            continue
        full = host.host_path(path, target.root)
        # every directory on the way must be searchable (x); with --root, from that root down
        blocked_dir = None
        components = [c for c in path.split("/") if c][:-1]
        for i in range(len(components) + 1):
            d = host.host_path("/" + "/".join(components[:i]), target.root)
            st = host.stat(d)
            if st is None:
                break  # missing: CRI105's business
            if not read_search and not _bits(st, uid, groups) & 0o1:
                blocked_dir = (d, st)
                break
        details = {"path": path, "host_path": full, "uid": uid, "gid": gid, "access": access, "use": what}
        if blocked_dir is not None:
            d, st = blocked_dir
            reported.add(key)
            details.update(denied=d, owner=st.st_uid, mode=f"0{stat.S_IMODE(st.st_mode):o}")
            yield make(
                RULE,
                f"{path} (pid {pid}: {what}): uid {uid} cannot search directory {d} here "
                f"(owner uid {st.st_uid}, mode 0{stat.S_IMODE(st.st_mode):o})",
                pid=pid,
                fd=fd,
                details=details,
                criu_error=f"Can't open file {path} on restore: Permission denied",
            )
            continue
        if ghost:
            parent = os.path.dirname(full.rstrip("/")) or "/"
            st = host.stat(parent)
            if st is not None and not _bits(st, uid, groups) & 0o2:
                reported.add(key)
                details.update(denied=parent, owner=st.st_uid, mode=f"0{stat.S_IMODE(st.st_mode):o}")
                yield make(
                    RULE,
                    f"{path} (pid {pid}: {what}) is a deleted file criu re-creates in {parent}, which uid {uid} "
                    f"cannot write here (owner uid {st.st_uid}, mode 0{stat.S_IMODE(st.st_mode):o})",
                    pid=pid,
                    fd=fd,
                    details=details,
                    criu_error="Can't create ghost regfile: Permission denied",
                    fix=f"Let uid {uid} write to {parent} on the target (or restore as root).",
                )
            continue
        st = host.stat(path, target.root)
        if st is None:
            continue  # missing: CRI105
        need = NEEDED_BITS[access]
        if read_search and stat.S_ISDIR(st.st_mode):
            continue
        have = _bits(st, uid, groups)
        if read_search:
            have |= 0o4
        if have & need != need:
            reported.add(key)
            details.update(owner=st.st_uid, group=st.st_gid, mode=f"0{stat.S_IMODE(st.st_mode):o}")
            verb = ACCESS_VERB[access]
            yield make(
                RULE,
                f"{path} (pid {pid}: {what}) is owned by uid {st.st_uid} gid {st.st_gid} with mode "
                f"0{stat.S_IMODE(st.st_mode):o} here: uid {uid} cannot open it for {verb}",
                pid=pid,
                fd=fd,
                details=details,
                criu_error=f"Can't open file {path} on restore: Permission denied",
            )


RULE = Rule(
    code="CRI107",
    title="restoring user's access to reopened files on this host",
    category="host",
    severity="error",
    rationale=(
        "criu restore --unprivileged reopens every file the tasks had open or mapped, and their cwd and root, by "
        "path as the restoring user, before the tasks get their credentials back; ghost (deleted) files are "
        "re-created in their old directory. On this host the real owner, group and mode decide, and every "
        "directory on the way must be searchable."
    ),
    fix=(
        "chown/chmod the files (and directories) for the restoring user on this host, grant the restorer "
        "CAP_DAC_OVERRIDE, restore as root, or criu-inspect repair --fix relocate=OLD:NEW to files the user owns."
    ),
    check=check,
    criu_error="Can't open file %s on restore: Permission denied",
    host=True,
)
