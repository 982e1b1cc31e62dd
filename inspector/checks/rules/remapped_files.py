"""Open or mapped files that were unlinked (linked remaps) or only reachable through /proc."""

from __future__ import annotations

from ..base import Rule
from ..facts import make


def _reg_name(cp, file_id: int) -> str:
    reg = cp.reg_files.get(file_id)
    return reg.name if reg is not None else f"file id {file_id}"


def check(cp, target):
    for orig_id, remap in sorted(cp.remaps.items()):
        kind = remap.kind
        if kind == "GHOST":
            continue  # CRI009
        path = _reg_name(cp, orig_id)
        users = [
            (p, [fd.fd for fd in p.fds if fd.file_id == orig_id], [v.start for v in p.vmas if v.shmid == orig_id])
            for p in cp.processes
        ]
        users = [u for u in users if u[1] or u[2]]
        proc, fds, maps = users[0] if users else (None, [], [])
        link = _reg_name(cp, remap.remap_id)
        where = (
            f"pid {proc.pid} ({proc.comm}) " + (f"fd {fds[0]}" if fds else f"mapping at {maps[0]:#x}") if proc else ""
        )
        if kind == "LINKED":
            msg = (
                f"{where} -> {path} (deleted): criu kept it alive as a hard link {link} on the dumping host; "
                "restore opens that link, so it must exist on the target (same filesystem, same path)"
            )
        else:
            msg = f"{where} -> {path}: reached through /proc ({kind}); restore needs the same /proc entry"
        yield make(
            RULE,
            msg,
            pid=proc.pid if proc else None,
            fd=fds[0] if fds else None,
            image="remap-fpath.img",
            details={"path": path, "remap": kind, "link": link},
        )


RULE = Rule(
    code="CRI020",
    title="deleted file kept as a link on the dumping host",
    category="files",
    severity="warning",
    rationale=(
        "When a task holds an unlinked file that criu does not copy into the checkpoint (larger than "
        "--ghost-limit, or with --link-remap), criu hard-links it to a '.cr_remap' name on the dumping "
        "machine and records that in remap-fpath.img. The checkpoint is then not self-contained: a "
        "restore anywhere else fails to open the file."
    ),
    fix="ship the linked file with the checkpoint, or dump with a larger --ghost-limit so criu copies it",
    criu_error=None,
    check=check,
)
