"""inotify watches and fanotify groups: what re-creating them needs at restore."""

from __future__ import annotations

from ..base import Rule
from ..facts import has_cap, make, proc_label


def _users(cp, file_id):
    for proc in cp.processes:
        fds = [fd.fd for fd in proc.fds if fd.file_id == file_id]
        if fds:
            return proc, fds
    return None, []


def check(cp, target):
    by_handle_ok = has_cap(target, "DAC_READ_SEARCH")
    fanotify_ok = has_cap(target, "SYS_ADMIN")
    for group in cp.fsnotify_groups:
        file_id = group.file_id
        if group.kind == "inotify":
            # a watch without a path hint (irmap) or a ghost remap is reopened with open_by_handle_at()
            blind = [wd for wd in group.watches if wd.by_handle_only]
            if not blind or by_handle_ok:
                continue
            proc, fds = _users(cp, file_id)
            yield make(
                RULE,
                (f"{proc_label(proc)} fd {','.join(map(str, fds))}: " if proc else f"inotify {file_id:#x}: ")
                + f"{len(blind)} inotify watch(es) recorded by file handle only (inode "
                + ", ".join(f"{wd.s_dev:#x}:{wd.i_ino}" for wd in blind[:3])
                + (" ..." if len(blind) > 3 else "")
                + "); criu reopens the watched file with open_by_handle_at(), which needs CAP_DAC_READ_SEARCH",
                pid=proc.pid if proc else None,
                fd=fds[0] if fds else None,
                image="files.img",
                details={"kind": "inotify", "watches_by_handle": len(blind)},
            )
        elif group.kind == "fanotify" and not fanotify_ok:
            proc, fds = _users(cp, file_id)
            yield make(
                RULE,
                (f"{proc_label(proc)} fd {','.join(map(str, fds))}: " if proc else f"fanotify {file_id:#x}: ")
                + f"fanotify group with {group.marks} mark(s); criu re-creates it with fanotify_init(), "
                "which needs CAP_SYS_ADMIN",
                pid=proc.pid if proc else None,
                fd=fds[0] if fds else None,
                image="files.img",
                criu_error="Can't init fanotify mark (-1): Operation not permitted",
                fix="restore as root or grant the restorer CAP_SYS_ADMIN",
                details={"kind": "fanotify", "marks": group.marks},
            )


RULE = Rule(
    code="CRI026",
    title="inotify/fanotify that an unprivileged restore cannot re-create",
    category="files",
    severity="error",
    rationale=(
        "criu dumps an inotify watch or fanotify mark as the watched inode's file handle, plus the "
        "file's path when it could resolve one (irmap). On restore it reopens the inode by that path, or "
        "else with open_by_handle_at(), which the kernel allows only with CAP_DAC_READ_SEARCH; the watch is "
        "then added through /proc/self/fd. fanotify groups are created again with fanotify_init(), which "
        "needs CAP_SYS_ADMIN. An unprivileged restorer has neither, so such a checkpoint stops its restore."
    ),
    fix=(
        "grant the restorer CAP_DAC_READ_SEARCH (inotify) or CAP_SYS_ADMIN (fanotify), restore as root, or "
        "dump with --force-irmap so criu records the watched paths"
    ),
    criu_error=None,
    check=check,
)
