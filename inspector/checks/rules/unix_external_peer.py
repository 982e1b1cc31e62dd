"""Unix sockets connected to a peer outside the dumped tree."""

from __future__ import annotations

from ..base import Rule
from ..facts import make, proc_label


def _peer_name(cp, peer_ino):
    for fe in cp.files_by_id.values():
        if fe.HasField("usk") and fe.usk.ino == peer_ino and fe.usk.name:
            name = fe.usk.name.decode("utf-8", "backslashreplace").rstrip("\0")
            return "@" + name[1:] if name.startswith("\0") else name
    return None


def check(cp, target):
    for proc in cp.processes:
        for fd in proc.fds:
            s = fd.socket
            if s is None or s.family != "UNIX" or not s.external_peer:
                continue
            peer = _peer_name(cp, s.peer_ino) if s.peer_ino else None
            what = (f"{proc_label(proc)} fd {fd.fd}: unix {s.type.lower()} socket connected to "
                    f"{peer or f'socket:[{s.peer_ino}]'}, which is not in the checkpoint")  # fmt: skip
            where = dict(pid=proc.pid, fd=fd.fd, image="files.img",
                         details={"peer": peer, "peer_ino": s.peer_ino, "type": s.type})  # fmt: skip
            if s.type != "DGRAM":
                yield make(RULE, what + ": criu cannot restore one half of a stream connection", **where)
            elif target.ext_unix_sk:
                yield make(RULE, what + f"; criu reconnects it by name, so {peer or 'the peer'} must be bound "
                           "on the target when the restore runs", severity="info", criu_error="",
                           fix="start the peer before restoring", **where)  # fmt: skip
            else:
                yield make(RULE, what + "; restore without --ext-unix-sk reconnects it only if the peer is "
                           f"bound at {peer or 'its address'} on the target (otherwise the socket comes back "
                           "unconnected or the restore fails)", severity="warning", **where)  # fmt: skip


RULE = Rule(
    code="CRI016",
    title="unix socket with a peer outside the tree (--ext-unix-sk)",
    category="network",
    severity="error",
    rationale=(
        "criu dumps a unix datagram socket whose peer is outside the dumped tree only with "
        "--ext-unix-sk, recording the peer's name (uflags USK_EXTERN); on restore it connects the "
        "socket to that name again, so the peer must exist then. A stream connection cannot be "
        "split: its other half would be lost."
    ),
    fix="restore with --ext-unix-sk and start the peer first (or dump the peer in the same tree)",
    criu_error="Can't dump half of stream unix connection.",
    check=check,
)
