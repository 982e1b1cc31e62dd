"""Sockets with a peer outside the dumped tree: an established TCP connection (--tcp-established) and a
unix datagram socket whose peer is another program (CRI016: only the restoring host knows the peer)."""

from __future__ import annotations

import socket

from .lab import assert_agrees
from .probes import all_of, output_grows


def start_tcp_server(lab) -> int:
    port = lab.free_port()
    lab.start([str(lab.program("tcp.c")), "server", str(port)], out=lab.dir / "server.out")
    lab.wait_for(lambda: _listening(port), what=f"the TCP server on port {port}")
    return port


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_established_tcp_connection(lab):
    port = start_tcp_server(lab)  # the peer: not dumped, it keeps the connection's other end
    for user in (None, lab.criu.user):
        data = lab.mkdir(f"tcp-{'root' if user is None else 'user'}", owner=user)
        out = lab.file(data / "out", owner=user)
        pid = lab.start(
            [str(lab.program("tcp.c")), "client", str(port)], user=user, nnp=user is not None, out=out, cwd=data
        )
        lab.wait_for(lambda out=out: b"got pong" in out.read_bytes(), what="the client's first pong")
        # criu locks the network while it dumps: iptables as root, nftables unprivileged
        lock = [] if user is None else ["--network-lock", "nftables"]
        dump = lab.dump(pid, data.name, user=user, flags=["--tcp-established", *lock], data=[data])
        report, outcome = lab.judge(dump, output_grows(out), user=user, flags=["--tcp-established", *lock])
        assert_agrees(report, outcome)
        assert outcome.restored, outcome.describe()
        report, outcome = lab.judge(dump, output_grows(out), user=user, flags=lock)
        assert_agrees(report, outcome)
        assert "Connected TCP socket in image" in outcome.why


def test_unix_datagram_peer_outside_the_tree(lab):
    user = lab.criu.user
    usock = lab.program("usock.c")
    peer_dir = lab.mkdir("peer", owner=user)
    address = peer_dir / "dgram.sock"
    peer_out = lab.dir / "peer.out"
    peer = lab.start([str(usock), "dgram-peer", str(address)], user=user, out=peer_out)
    lab.wait_for(address.exists, what="the peer's socket")
    lab.adopt(peer)
    data = lab.mkdir("client", owner=user)
    out = lab.file(data / "out", owner=user)
    pid = lab.start([str(usock), "dgram-client", str(address)], user=user, nnp=True, out=out, cwd=data)
    lab.wait_for(lambda: b"sent 1" in out.read_bytes(), what="the client's first datagram")
    dump = lab.dump(pid, "unixsock", user=user, flags=["--ext-unix-sk"], data=[data])

    probe = all_of(output_grows(out), output_grows(peer_out))  # the client sends, the peer hears
    host = ["--host", "--criu", str(lab.criu.capped)]

    # the peer is bound: without --host check cannot know it (blocked, it says so); with --host it looks
    blind = lab.check(dump.images, "--uid", str(user.uid), "--cap", "NET_ADMIN", "--cap", "SYS_PTRACE")
    assert blind["verdict"] == "blocked" and [f["code"] for f in blind["findings"] if f["severity"] == "error"] == [
        "CRI016"
    ]
    for flags in (["--ext-unix-sk"], []):
        report, outcome = lab.judge(dump, probe, user=user, flags=flags, check_args=host)
        assert_agrees(report, outcome)
        assert outcome.restored, outcome.describe()

    lab.kill([peer])  # the peer is gone: criu cannot reconnect, with or without --ext-unix-sk
    for restorer, flags, args in ((user, ["--ext-unix-sk"], host), (user, [], []), (None, ["--ext-unix-sk"], [])):
        report, outcome = lab.judge(dump, probe, user=restorer, flags=flags, check_args=args)
        assert_agrees(report, outcome)
        assert "Connection refused" in outcome.why
