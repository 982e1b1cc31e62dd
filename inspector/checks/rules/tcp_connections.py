"""Connected TCP sockets: --tcp-established (TCP_REPAIR, CAP_NET_ADMIN) or --tcp-close."""

from __future__ import annotations

from ..base import Rule
from ..facts import has_cap, make, proc_label
from ._inet import connections


def check(cp, target):
    for proc, fd in connections(cp):
        s = fd.socket
        what = f"{proc_label(proc)} fd {fd.fd}: TCP {s.src} -> {s.dst} ({s.state})"
        where = dict(pid=proc.pid, fd=fd.fd, image="files.img", details={"src": s.src, "dst": s.dst, "state": s.state})
        if target.tcp_close:
            yield make(
                RULE,
                f"{what}: restored closed (--tcp-close): the program's next write fails (EPIPE) and a read "
                "sees EOF, while criu reports a success; a client that does not reconnect exits (the e2e tcp client "
                "did), one that reconnects goes on",
                severity="warning",
                criu_error="",
                fix="reconnect in the program, or restore with --tcp-established",
                **where,
            )
        elif not target.tcp_established:
            yield make(RULE, f"{what}: criu restore refuses connected TCP sockets without --tcp-established", **where)
        elif not has_cap(target, "NET_ADMIN"):
            yield make(
                RULE,
                f"{what}: --tcp-established rebuilds the connection with TCP_REPAIR, which needs CAP_NET_ADMIN",
                criu_error="Can't turn TCP repair mode ON: Operation not permitted",
                fix="grant the restorer CAP_NET_ADMIN, or restore with --tcp-close",
                **where,
            )
        else:
            yield make(
                RULE,
                f"{what}: restored with TCP_REPAIR; the local address must exist on the target and the peer "
                "must still know the connection",
                severity="info",
                criu_error="",
                fix="nothing to do if the peer is still there",
                **where,
            )


RULE = Rule(
    code="CRI012",
    title="connected TCP socket (--tcp-established)",
    category="network",
    severity="error",
    rationale=(
        "criu dumps a connected TCP socket only with --tcp-established, saving its queues and sequence "
        "numbers (tcp-stream-N.img), and restores it only with --tcp-established too: the socket is "
        "rebuilt in TCP_REPAIR mode, which needs CAP_NET_ADMIN. --tcp-close restores it closed instead. "
        "Without either, criu restore fails."
    ),
    fix="restore with --tcp-established (with CAP_NET_ADMIN) or --tcp-close",
    criu_error="inet: Connected TCP socket in image",
    check=check,
)
