"""Raw and packet sockets: creating them needs CAP_NET_RAW."""

from __future__ import annotations

from ..base import Rule
from ..facts import has_cap, make, proc_label


def check(cp, target):
    if has_cap(target, "NET_RAW"):
        return
    for proc in cp.processes:
        for fd in proc.fds:
            s = fd.socket
            if s is not None and s.family in ("INET", "INET6") and s.type == "RAW":
                yield make(
                    RULE,
                    f"{proc_label(proc)} fd {fd.fd}: raw {s.family} socket ({s.proto}); socket(SOCK_RAW) "
                    "needs CAP_NET_RAW",
                    pid=proc.pid,
                    fd=fd.fd,
                    image="files.img",
                    criu_error="Can't create inet socket: Operation not permitted",
                )
            elif fd.type == "PACKETSK":
                yield make(
                    RULE,
                    f"{proc_label(proc)} fd {fd.fd}: packet socket (AF_PACKET); creating it needs CAP_NET_RAW",
                    pid=proc.pid,
                    fd=fd.fd,
                    image="packetsk.img",
                )


RULE = Rule(
    code="CRI025",
    title="raw or packet socket (CAP_NET_RAW)",
    category="network",
    severity="error",
    rationale=(
        "criu restore creates every socket again with socket(). Raw IP sockets (ping, traceroute, "
        "DHCP clients) and AF_PACKET sockets (tcpdump, network daemons) can only be created with "
        "CAP_NET_RAW in the network namespace's user namespace, which an unprivileged restorer "
        "normally lacks."
    ),
    fix="grant the restorer CAP_NET_RAW (--cap NET_RAW) or restore as root",
    criu_error="Can't create packet sock: Operation not permitted",
    check=check,
)
