"""INET socket helpers shared by the network rules."""

from __future__ import annotations

from ...model import names


def inet_sockets(cp):
    """(process, fd) for every AF_INET/AF_INET6 socket fd."""
    for proc in cp.processes:
        for fd in proc.fds:
            s = fd.socket
            if s is not None and s.family in ("INET", "INET6"):
                yield proc, fd


def is_tcp_connection(sock) -> bool:
    """criu's tcp_connection(): a TCP socket with a peer, restored through TCP_REPAIR."""
    return sock.proto == "TCP" and bool(sock.dst_port) and sock.state in names.TCP_CONNECTED_STATES


def connections(cp):
    return [(p, fd) for p, fd in inet_sockets(cp) if is_tcp_connection(fd.socket)]
