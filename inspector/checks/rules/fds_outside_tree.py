"""Pipes and external files whose other end lives outside the dumped tree (--inherit-fd)."""

from __future__ import annotations

from ...model import names
from ..base import Rule
from ..facts import make, proc_label


def _inherited(target, resource: str) -> bool:
    """--inherit-fd fd[N]:RESOURCE hands the restore RESOURCE (e.g. pipe:[4242])."""
    return any(spec.split(":", 1)[-1] == resource for spec in target.inherit_fds)


def _inherited_fd(target, fd: int) -> bool:
    return any(spec.startswith(f"fd[{fd}]:") for spec in target.inherit_fds)


def _ext_tty_key(fd) -> str | None:
    """The resource name criu gives an external tty: "tty[RDEV:DEV]" in hex (criu --inherit-fd fd[N]:tty[..])."""
    if fd.tty is None or fd.tty.type != "EXT_TTY":
        return None
    return fd.tty.criu_name


def check(cp, target):
    ends: dict[int, list] = {}
    for proc in cp.processes:
        for fd in proc.fds:
            if fd.type == "PIPE" and fd.pipe_id is not None:
                ends.setdefault(fd.pipe_id, []).append((proc, fd))
            elif fd.external or (fd.tty is not None and fd.tty.type == "EXT_TTY"):
                resource = f"file id {fd.file_id:#x}"
                key = _ext_tty_key(fd)
                if _inherited_fd(target, fd.fd) or (key and _inherited(target, key)):
                    continue
                yield make(
                    RULE,
                    f"{proc_label(proc)} fd {fd.fd}: an external file ({fd.path or resource}) that criu did not "
                    "dump; it must be handed in at restore",
                    severity="error",
                    pid=proc.pid,
                    fd=fd.fd,
                    image="files.img",
                    criu_error="",
                    fix=f"restore with --inherit-fd fd[N]:{key or 'RESOURCE'} for it (or a plugin that restores it)",
                    details={"resource": key} if key else {},
                )
    for pipe_id, users in sorted(ends.items()):
        modes = {names.access_mode(fd.open_flags) for _, fd in users}
        if "rw" in modes or {"r", "w"} <= modes:
            continue  # both ends are in the tree
        resource = f"pipe:[{pipe_id}]"
        missing = "write" if modes == {"r"} else "read"
        proc, fd = users[0]
        fds = ", ".join(f"{p.pid}:{f.fd}" for p, f in users)
        if _inherited(target, resource):
            continue
        yield make(
            RULE,
            f"{proc_label(proc)} fd {fd.fd} -> {resource}: the {missing} end of this pipe is held by a process "
            f"outside the checkpoint (pid:fd in the tree: {fds}); criu restores a fresh pipe, so the program "
            f"sees {'end-of-file' if missing == 'write' else 'EPIPE/SIGPIPE'} instead of its peer",
            pid=proc.pid,
            fd=fd.fd,
            image="files.img",
            details={"pipe": resource, "missing_end": missing},
            fix=f"restore with --inherit-fd fd[{fd.fd}]:{resource} to hand in the real pipe end, or accept it",
        )


RULE = Rule(
    code="CRI017",
    title="fd whose far end is outside the tree (--inherit-fd)",
    category="files",
    severity="warning",
    rationale=(
        "A pipe whose other end belongs to a process that was not dumped (a shell pipeline, a "
        "supervisor reading the program's output) is restored as a new pipe with nobody on the other "
        "side: reads return end-of-file and writes raise SIGPIPE, and the program may exit right "
        "after the restore. criu restore --inherit-fd fd[N]:pipe:[INODE] lets the caller hand in the "
        "real end. External files (dumped with --external) cannot be restored without it."
    ),
    fix="restore with --inherit-fd fd[N]:pipe:[INODE] (or fd[N]:RESOURCE)",
    criu_error="",
    check=check,
)
