"""CRI016 (unix_external_peer): on a real corpus checkpoint or on a copy of one changed by
decode -> change -> encode (each such test says so in its docstring)."""

from __future__ import annotations

import socket
import tempfile
from pathlib import Path

from inspector.checks.base import Target
from tests.checks.rule_fixtures import ROOT, edit, found
from tests.conftest import corpus_dir


def test_cri016_unix_peer_outside(writable_copy):
    us = corpus_dir("unixsock")
    err = found(us, ROOT, "CRI016", "error")
    assert err and err[0].details["peer"] == "/tmp/criu-work/data/unixsock-peer/dgram.sock"
    assert "Can't connect" in err[0].criu_error and "check --host" in err[0].message
    # --ext-unix-sk does not help: CRIU 4.2.1 fails to reconnect to a peer that is gone either way (e2e)
    assert found(us, Target(kind="root", ext_unix_sk=True), "CRI016", "error")
    # on this host (--host), under --root: nothing bound there -> error; a bound datagram peer -> info
    with tempfile.TemporaryDirectory(prefix="cri016-") as root:  # short: a socket path has 108 bytes
        peer = Path(root, "tmp/criu-work/data/unixsock-peer/dgram.sock")
        here = Target(kind="root", on_this_host=True, root=root)
        assert "nothing is bound" in found(us, here, "CRI016", "error")[0].message
        peer.parent.mkdir(parents=True)
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as bound:
            bound.bind(str(peer))
            assert {f.severity for f in found(us, here, "CRI016")} == {"info"}
    d = writable_copy("unixsock")
    edit(d, "files.img", lambda fe: setattr(fe.usk, "type", 1) if fe.HasField("usk") and fe.usk.peer else False)
    assert found(d, Target(kind="root", ext_unix_sk=True), "CRI016", "error")  # stream: decoded, SOCK_STREAM, encoded
