"""CRI108 (host): ports the restored sockets must bind that this host already uses.

criu re-creates each listening TCP socket and bound UDP socket with bind() to
its dumped address and port, and an established connection (--tcp-established)
with its original local address and port; a socket of this host on the same
port (the same address, or a wildcard on either side) makes that bind fail.
Not a problem when the tree had a network namespace of its own.
"""

from __future__ import annotations

from ..base import Rule
from ..facts import make, proc_label
from ..host import current_host, host_sockets

WILDCARDS = ("0.0.0.0", "::", "")


def own_net_namespace(cp) -> bool:
    inv = cp.inventory_flags
    if inv is None or inv.root_ids is None or not cp.processes:
        return False
    ns = cp.root.ids.get("net_ns_id")
    return ns is not None and ns != inv.root_ids.get("net_ns_id", 0)


def _addr(src: str | None) -> str:
    if not src or ":" not in src:
        return ""
    return src.rsplit(":", 1)[0].strip("[]")


def _clash(addr: str, other: str) -> bool:
    return addr == other or addr in WILDCARDS or other in WILDCARDS


def check(cp, target, host=None, sockets=None):
    host = host or current_host()
    if own_net_namespace(cp):
        return
    here = sockets if sockets is not None else host_sockets(host.proc)
    for proc in cp.processes:
        for fd in proc.fds:
            s = fd.socket
            if s is None or s.family not in ("INET", "INET6") or not s.src_port:
                continue
            addr = _addr(s.src)
            if s.proto == "TCP" and s.state == "LISTEN":
                users = [
                    h
                    for h in here
                    if h.proto == "TCP" and h.port == s.src_port and h.state == "LISTEN" and _clash(addr, h.addr)
                ]
                how = "listens on"
            elif s.proto == "UDP":
                users = [h for h in here if h.proto == "UDP" and h.port == s.src_port and _clash(addr, h.addr)]
                how = "is bound to"
            elif s.proto == "TCP" and s.state == "ESTABLISHED" and target.tcp_established:
                users = [h for h in here if h.proto == "TCP" and h.port == s.src_port and h.addr == addr]
                how = "is connected from"
            else:
                continue
            if not users:
                continue
            h = users[0]
            yield make(
                RULE,
                f"{proc_label(proc)} fd {fd.fd} {how} {s.src} ({s.proto}), but this host already has a "
                f"{h.proto} socket on {h.addr}:{h.port} ({h.state}, inode {h.inode})",
                pid=proc.pid,
                fd=fd.fd,
                image="files.img",
                criu_error=(
                    "Can't bind inet socket back: Address already in use"
                    if how == "is connected from"
                    else f"Can't bind inet socket (id {fd.file_id}): Address already in use"
                ),
                details={"port": s.src_port, "addr": addr, "host_addr": h.addr, "host_state": h.state},
            )


RULE = Rule(
    code="CRI108",
    title="port of a restored socket already used on this host",
    category="host",
    severity="error",
    rationale=(
        "criu restore binds every listening TCP and bound UDP socket to the address and port it had, and "
        "re-creates an established connection (--tcp-established) from its original local port. A socket of "
        "the restoring host on the same port (same address, or a wildcard address on either side) makes the "
        "bind fail with EADDRINUSE and the restore stops."
    ),
    fix=(
        "Stop the service that holds the port on this host (or the original process, when restoring where it "
        "was dumped with --leave-running), or restore into a network namespace of its own (a new container)."
    ),
    check=check,
    criu_error="Can't bind inet socket (id %d): Address already in use",
    host=True,
)
