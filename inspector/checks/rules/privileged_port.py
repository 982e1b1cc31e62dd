"""Sockets bound to ports below 1024: binding them needs CAP_NET_BIND_SERVICE."""

from __future__ import annotations

from ..base import Rule
from ..facts import has_cap, make, proc_label
from ._inet import inet_sockets, is_tcp_connection

PRIVILEGED_PORTS = 1024  # net.ipv4.ip_unprivileged_port_start default


def check(cp, target):
    if has_cap(target, "NET_BIND_SERVICE"):
        return
    for proc, fd in inet_sockets(cp):
        s = fd.socket
        port = s.src_port or 0
        if not 0 < port < PRIVILEGED_PORTS:
            continue
        if target.tcp_close and is_tcp_connection(s):
            continue  # restored closed, never bound
        repaired = is_tcp_connection(s)
        yield make(
            RULE,
            f"{proc_label(proc)} fd {fd.fd}: {s.proto or s.type} socket bound to {s.src} ({s.state}); "
            f"binding port {port} needs CAP_NET_BIND_SERVICE",
            pid=proc.pid,
            fd=fd.fd,
            image="files.img",
            details={"port": port, "state": s.state},
            criu_error="Can't bind inet socket back: Permission denied"
            if repaired
            else f"Can't bind inet socket (id {fd.file_id}): Permission denied",
        )


RULE = Rule(
    code="CRI014",
    title="socket on a privileged port (< 1024)",
    category="network",
    severity="error",
    rationale=(
        "criu restore re-creates listening and bound sockets with bind() as the restoring user, and "
        "repaired connections are bound to their local port too. The kernel only lets a process with "
        "CAP_NET_BIND_SERVICE bind ports below net.ipv4.ip_unprivileged_port_start (1024 by default), "
        "so a server dumped as root on port 80 cannot be restored unprivileged."
    ),
    fix=(
        "grant the restorer CAP_NET_BIND_SERVICE (--cap NET_BIND_SERVICE), lower "
        "net.ipv4.ip_unprivileged_port_start on the target, or restore as root"
    ),
    criu_error="Can't bind inet socket (id N): Permission denied",
    check=check,
)
