"""The TCP and UDP sockets of this machine, from /proc/net: what a restored socket's port may collide with."""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass

from ...model import names


@dataclass(frozen=True)
class HostSocket:
    proto: str  # TCP or UDP
    family: str  # INET or INET6
    addr: str
    port: int
    state: str  # LISTEN, ESTABLISHED, ... (TCP); BOUND (UDP)
    inode: int


_PROC_NET_FILES = (
    ("tcp", "TCP", "INET"),
    ("tcp6", "TCP", "INET6"),
    ("udp", "UDP", "INET"),
    ("udp6", "UDP", "INET6"),
)


def _proc_net_addr(hexaddr: str) -> str:
    raw = bytes.fromhex(hexaddr)
    # /proc/net prints the address as host-order 32-bit words
    words = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
    return str(ipaddress.IPv4Address(words) if len(words) == 4 else ipaddress.IPv6Address(words))


def parse_proc_net(text: str, proto: str, family: str) -> list[HostSocket]:
    out = []
    for line in text.splitlines()[1:]:
        parts = line.split()
        if len(parts) < 10 or ":" not in parts[1]:
            continue
        hexaddr, hexport = parts[1].rsplit(":", 1)
        try:
            addr, port, st, inode = _proc_net_addr(hexaddr), int(hexport, 16), int(parts[3], 16), int(parts[9])
        except ValueError:
            continue
        state = names.describe(names.TCP_STATE, st) if proto == "TCP" else "BOUND"
        out.append(HostSocket(proto, family, addr, port, state, inode))
    return out


def host_sockets(proc: str = "/proc") -> list[HostSocket]:
    """TCP and UDP sockets of this host's (this process's) network namespace."""
    out = []
    for name, proto, family in _PROC_NET_FILES:
        try:
            with open(os.path.join(proc, "net", name)) as fh:
                out.extend(parse_proc_net(fh.read(), proto, family))
        except OSError:
            continue
    return out
