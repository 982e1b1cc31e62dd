"""Unix sockets connected to a peer outside the dumped tree."""

from __future__ import annotations

from ..base import Rule
from ..facts import make, proc_label


def _peer_name(cp, peer_ino):
    address = cp.unix_socket_addresses.get(peer_ino)
    if address is None:
        return None
    name = address.decode("utf-8", "backslashreplace").rstrip("\0")
    return "@" + name[1:] if name.startswith("\0") else name


def peer_bound(name: str, root: str | None = None) -> bool:
    """Is a datagram socket bound at ``name`` on this machine (under criu's --root)? connect() says."""
    import socket

    from ..host import Host

    address = "\0" + name[1:] if name.startswith("@") else Host.host_path(name, root)
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sk:
        try:
            sk.connect(address)
        except OSError:
            return False
    return True


def check(cp, target):
    for proc in cp.processes:
        for fd in proc.fds:
            s = fd.socket
            if s is None or s.family != "UNIX" or not s.external_peer:
                continue
            peer = _peer_name(cp, s.peer_ino) if s.peer_ino else None
            what = (
                f"{proc_label(proc)} fd {fd.fd}: unix {s.type.lower()} socket connected to "
                f"{peer or f'socket:[{s.peer_ino}]'}, which is not in the checkpoint"
            )
            where = dict(
                pid=proc.pid,
                fd=fd.fd,
                image="files.img",
                details={"peer": peer, "peer_ino": s.peer_ino, "type": s.type},
            )
            refused = f"unix: Can't connect {s.ino} socket: Connection refused"
            if s.type != "DGRAM":
                yield make(RULE, what + ": criu cannot restore one half of a stream connection", **where)
            elif target.on_this_host and peer and peer_bound(peer, target.root):
                yield make(
                    RULE,
                    what + f"; {peer} is bound on this host, and criu reconnects the socket to it "
                    "by name (keep the peer running until the restore is done)",
                    severity="info",
                    criu_error="",
                    fix="start the peer before restoring",
                    **where,
                )
            elif target.on_this_host:
                yield make(
                    RULE,
                    what + f"; nothing is bound at {peer or 'its address'} on this host, so criu "
                    "cannot reconnect it and the restore fails (with or without --ext-unix-sk)",
                    criu_error=refused,
                    **where,
                )
            else:
                yield make(
                    RULE,
                    what + "; criu reconnects it by name at restore and fails unless "
                    f"{peer or 'the peer'} is bound then, with or without --ext-unix-sk (check --host "
                    "looks on this machine)",
                    criu_error=refused,
                    **where,
                )


RULE = Rule(
    code="CRI016",
    title="unix socket with a peer outside the tree",
    category="network",
    severity="error",
    rationale=(
        "criu dumps a unix datagram socket whose peer is outside the dumped tree only with "
        "--ext-unix-sk, recording the peer's name (uflags USK_EXTERN); on restore it connects the "
        "socket to that name again, so the peer must be bound then, whatever the restore's flags: "
        "CRIU 4.2.1 failed with the peer gone both with and without --ext-unix-sk, and restored "
        "both ways with the peer bound. Only the restoring machine knows, so without --host this "
        "is a blocker. A stream connection cannot be split: its other half would be lost."
    ),
    fix="start the peer (bound at its recorded address) before restoring and confirm with check --host, "
    "or dump the peer in the same tree",
    criu_error="unix: Can't connect INO socket: Connection refused",
    check=check,
)
