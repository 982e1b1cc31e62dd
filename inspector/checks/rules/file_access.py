"""Regular files criu must reopen that the restoring user may not be allowed to open."""

from __future__ import annotations

import stat

from ...model import names
from ..base import Rule
from ..facts import (
    ACCESS_VERB,
    NEEDED_BITS,
    assumed_owner,
    has_cap,
    make,
    proc_label,
    restoring_gid,
    restoring_uid,
)


def allowed_bits(mode: int, owner_guess: int | None, group_guess: int | None, uid: int, gid: int) -> int:
    """rwx bits the restoring user gets, assuming the file belongs to the task that opened it."""
    bits = mode & 0o7
    if owner_guess is not None and owner_guess == uid:
        bits = (mode >> 6) & 0o7
    elif group_guess is not None and group_guess == gid:
        bits |= (mode >> 3) & 0o7
    return bits


def _opens(cp):
    """(process, fd or None, path, mode, access, what) for every file or directory criu reopens by path."""
    for proc in cp.processes:
        for fd in proc.fds:
            if fd.type != "REG" or fd.deleted or not fd.path or fd.mode is None:
                continue
            yield proc, fd, fd.path, fd.mode, names.access_mode(fd.open_flags), f"fd {fd.fd}"
        fs = cp.task_fs(proc.pid)
        for what, file_id in (("cwd", fs.cwd_id if fs else None), ("root", fs.root_id if fs else None)):
            reg = cp.reg_files.get(file_id) if file_id is not None else None
            if reg is not None and reg.mode is not None:
                yield proc, None, reg.name, reg.mode, names.access_mode(reg.flags), what
        seen = set()
        for vma in proc.vmas:
            key = (vma.shmid, bool(vma.status & names.VMA_FILE_SHARED and vma.prot & 0x2))
            if not vma.path or vma.status & names.VMA_AREA_MEMFD or key in seen:
                continue
            seen.add(key)
            reg = cp.reg_files.get(vma.shmid)
            if reg is None or reg.mode is None or reg.id in cp.remaps:
                continue
            # criu reopens a shared writable mapping O_RDWR, whatever the recorded open flags
            shared_w = vma.status & names.VMA_FILE_SHARED and vma.prot & 0x2
            access = "rw" if shared_w else names.access_mode(reg.flags)
            yield proc, None, reg.name, reg.mode, access, f"mapping at {vma.start:#x}"


def check(cp, target):
    if target.privileged or has_cap(target, "DAC_OVERRIDE"):
        return
    uid, gid = restoring_uid(cp, target), restoring_gid(cp, target)
    read_ok = has_cap(target, "DAC_READ_SEARCH")
    reported = set()
    for proc, fd, path, mode, access, what in _opens(cp):
        if stat.S_ISLNK(mode) or stat.S_ISSOCK(mode):
            continue
        owner, group = assumed_owner(cp, proc, path)
        have = allowed_bits(mode, owner, group, uid, gid)
        need = NEEDED_BITS[access]
        if read_ok:
            need &= ~0o4
        if need & ~have == 0:
            continue
        key = (proc.pid, path, access)
        if key in reported:
            continue
        reported.add(key)
        verb = ACCESS_VERB[access]
        owner_text = "root" if owner == 0 else f"uid {owner}"
        repaired = cp.repair_record is not None and proc.creds is not None and proc.creds.fsuid != owner
        ran = "was dumped running as" if repaired else "ran as"
        yield make(
            RULE,
            f"{proc_label(proc)} {what} -> {path} ({verb}, mode {stat.S_IMODE(mode):04o}): the task {ran} "
            f"{owner_text}{' (a repair rewrote its creds, not the file)' if repaired else ''}, so the file is "
            f"most likely {owner_text}'s; uid {uid} is not allowed to open it "
            f"for {verb} (criu reopens every file by path before the task's credentials are restored)",
            pid=proc.pid,
            fd=fd.fd if fd is not None else None,
            image="files.img",
            criu_error=f"Can't open file {path} on restore: Permission denied",
            details={"path": path, "access": access, "mode": f"{stat.S_IMODE(mode):04o}", "assumed_owner": owner},
        )


RULE = Rule(
    code="CRI008",
    title="file the restoring user may not be allowed to reopen",
    category="files",
    severity="error",
    rationale=(
        "criu restore reopens every regular file a task had open (and every mapped file) by its path, "
        "with the dumped access mode, as the restoring user and before the tasks get their credentials "
        "back. files.img records the path, the open flags and the file mode but not the owner, so the "
        "owner is assumed to be the user the task ran as: a file a root task opened for writing under "
        "a root-owned directory (its stdout log, a data file) cannot be opened by an unprivileged "
        "restorer. With --host the real owner is checked on the restoring machine."
    ),
    fix=(
        "make the files writable for the restoring user on the target (chown/chmod), restore as root, "
        "grant CAP_DAC_OVERRIDE, or criu-inspect repair --fix relocate=OLD:NEW to point the paths at "
        "files the user owns"
    ),
    criu_error="Can't open file PATH on restore: Permission denied",
    check=check,
)
