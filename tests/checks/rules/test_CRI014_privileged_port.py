"""CRI014 (privileged_port): on a real corpus checkpoint or on a copy of one changed by
decode -> change -> encode (each such test says so in its docstring)."""

from __future__ import annotations

from tests.checks.rule_fixtures import ROOT, UNPRIV, edit, found, unpriv
from tests.conftest import corpus_dir


def test_cri014_listening_on_port_80(writable_copy):
    """tcp copy, files.img decoded, the connected socket made a LISTEN socket on port 80, encoded again."""
    d = writable_copy("tcp")

    def listen80(fe):
        if not fe.HasField("isk"):
            return False
        fe.isk.state, fe.isk.src_port, fe.isk.dst_port = 10, 80, 0
        del fe.isk.dst_addr[:]

    edit(d, "files.img", listen80)
    got = found(d, unpriv(tcp_established=True), "CRI014", "error")
    assert got and got[0].details == {"port": 80, "state": "LISTEN"}
    assert got[0].criu_error.startswith("Can't bind inet socket (id ") and got[0].criu_error.endswith(
        "Permission denied"
    )
    assert not found(d, unpriv(caps=frozenset({"NET_BIND_SERVICE"})), "CRI014")
    assert not found(d, ROOT, "CRI014")
    assert not found(d, UNPRIV, "CRI012")  # a listening socket is no connection
    assert not found(corpus_dir("tcp"), unpriv(tcp_established=True), "CRI014")  # port 47414
