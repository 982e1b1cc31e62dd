"""show sockets: one row per socket descriptor of the tree, as go-criu's ``crit x sk`` lists them.

Built from the model's sockets (``Fd.socket``: family, type, state,
addresses, inode, peer inode, from files.img's ``usk``/``isk`` entries) and
the model's decoded files.img for what the model keeps no field for (buffer
sizes, the socket's network namespace, the name of a unix peer that no
descriptor of the tree holds: criu dumps such an external peer as a
files.img entry of its own, criu/sk-unix.c). For a TCP socket dumped with
``--tcp-established`` the queued bytes come from ``tcp-stream-INODE.img``
(inode in hex, criu/image-desc.c ``tcp-stream-%x``; inq_len, outq_len).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class SocketRow:
    pid: int
    fd: int
    family: str  # UNIX, INET, INET6, NETLINK, PACKET
    type: str  # STREAM, DGRAM, SEQPACKET, RAW
    proto: str | None  # TCP, UDP (inet)
    state: str  # ESTABLISHED, LISTEN, CLOSE, ...
    local: str | None  # "addr:port", a unix path ("@name" for the abstract namespace)
    peer: str | None  # the far end's address, or a unix peer's name
    ino: int | None
    peer_ino: int | None  # unix: the peer socket's inode
    peer_owner: str | None  # "PID/FD" of the far end when the tree holds it, "outside the tree" for an external one
    netns: int | None  # the network namespace id (CRIU's) the socket lives in
    rcvbuf: int | None  # SO_RCVBUF, SO_SNDBUF as dumped (bytes)
    sndbuf: int | None
    recv_queue: int | None  # TCP: bytes queued to read / not yet acknowledged, from tcp-stream-INODE.img
    send_queue: int | None


def sockets_view(cp) -> list[SocketRow]:
    rows: list[SocketRow] = []
    holders: dict[int, list[str]] = {}  # inode -> "pid/fd" of each descriptor on it
    for p in cp.processes:
        for fd in p.fds:
            if fd.socket is not None and fd.socket.ino:
                holders.setdefault(fd.socket.ino, []).append(f"{p.pid}/{fd.fd}")
    unix_names = _unix_names(cp)
    for p in cp.processes:
        for fd in p.fds:
            s = fd.socket
            entry = cp.files_by_id.get(fd.file_id)
            if s is None:
                other = _other_socket_row(p.pid, fd.fd, entry)
                if other is not None:
                    rows.append(other)
                continue
            sk = _socket_entry(entry)
            opts = sk.opts if sk is not None and sk.HasField("opts") else None
            row = SocketRow(
                pid=p.pid,
                fd=fd.fd,
                family=s.family,
                type=s.type,
                proto=s.proto,
                state=s.state,
                local=s.src or None,
                peer=s.dst,
                ino=s.ino,
                peer_ino=s.peer_ino,
                peer_owner=None,
                netns=sk.ns_id if sk is not None and sk.HasField("ns_id") else None,
                rcvbuf=opts.so_rcvbuf if opts is not None else None,
                sndbuf=opts.so_sndbuf if opts is not None else None,
                recv_queue=None,
                send_queue=None,
            )
            if s.family == "UNIX":
                _unix_peer(row, s, holders, unix_names)
            else:
                _tcp_queues(row, cp)
            rows.append(row)
    _link_inet_peers(rows)
    return rows


def _other_socket_row(pid: int, fd: int, entry) -> SocketRow | None:
    """A netlink or packet socket, which the model keeps no Socket for: its row from files.img's nlsk/psk
    entry (netlink: port ids, criu/sk-netlink.c; packet: the interface it is bound to, criu/sk-packet.c)."""
    from ..model import names

    if entry is None:
        return None
    if entry.HasField("nlsk"):
        n = entry.nlsk
        return SocketRow(
            pid=pid,
            fd=fd,
            family="NETLINK",
            type="RAW",
            proto=f"protocol {n.protocol}",
            state=names.describe(names.TCP_STATE, n.state),
            local=f"portid {n.portid}",
            peer=f"portid {n.dst_portid}" if n.dst_portid else None,
            ino=n.ino,
            peer_ino=None,
            peer_owner=None,
            netns=n.ns_id if n.HasField("ns_id") else None,
            rcvbuf=n.opts.so_rcvbuf,
            sndbuf=n.opts.so_sndbuf,
            recv_queue=None,
            send_queue=None,
        )
    if entry.HasField("psk"):
        k = entry.psk
        return SocketRow(
            pid=pid,
            fd=fd,
            family="PACKET",
            type=names.describe(names.SOCK_TYPE, k.type),
            proto=f"ethertype 0x{k.protocol:04x}",
            state="",
            local=f"ifindex {k.ifindex}" if k.ifindex else None,
            peer=None,
            ino=None,
            peer_ino=None,
            peer_owner=None,
            netns=k.ns_id if k.HasField("ns_id") else None,
            rcvbuf=k.opts.so_rcvbuf,
            sndbuf=k.opts.so_sndbuf,
            recv_queue=None,
            send_queue=None,
        )
    return None


def _socket_entry(entry):
    """The files.img usk/isk message of a socket's file entry (None for another kind, or no entry)."""
    for kind in ("usk", "isk"):
        if entry is not None and entry.HasField(kind):
            return getattr(entry, kind)
    return None


def _unix_names(cp) -> dict[int, str]:
    from ..model.checkpoint import as_text

    out = {}
    for entry in cp.files_by_id.values():
        if entry.HasField("usk") and entry.usk.name:
            name = as_text(entry.usk.name)  # as the model names its own sockets: @ for the abstract namespace
            out[entry.usk.ino] = "@" + name[1:] if name.startswith("\0") else name.rstrip("\0")
    return out


def _unix_peer(row: SocketRow, s, holders: dict, names: dict) -> None:
    if row.local:
        row.local = row.local.rstrip("\0")
    if not s.peer_ino:
        return
    row.peer = names.get(s.peer_ino)
    owners = holders.get(s.peer_ino)
    row.peer_owner = ", ".join(owners) if owners else "outside the tree"


def _link_inet_peers(rows: list[SocketRow]) -> None:
    """A connection whose two ends are both in the tree (in one network namespace): each names the other's pid/fd."""
    by_ends: dict[tuple, list[SocketRow]] = {}
    for r in rows:
        if r.family != "UNIX" and r.local and r.peer:
            by_ends.setdefault((r.proto, r.netns, r.local, r.peer), []).append(r)
    for r in rows:
        if r.family != "UNIX" and r.local and r.peer:
            far = by_ends.get((r.proto, r.netns, r.peer, r.local))
            r.peer_owner = ", ".join(f"{o.pid}/{o.fd}" for o in far) if far else None


def _tcp_queues(row: SocketRow, cp) -> None:
    if row.proto != "TCP" or row.ino is None:
        return
    name = f"tcp-stream-{row.ino:x}.img"
    if name not in cp.files:
        return
    stream = cp._soft(cp.one, name)
    if stream is not None:
        row.recv_queue, row.send_queue = stream.inq_len, stream.outq_len
