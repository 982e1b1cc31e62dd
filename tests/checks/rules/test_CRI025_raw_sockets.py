"""CRI025 (raw_sockets): on a real corpus checkpoint or on a copy of one changed by
decode -> change -> encode (each such test says so in its docstring)."""

from __future__ import annotations

from tests.checks.rule_fixtures import UNPRIV, edit, found, unpriv
from tests.conftest import corpus_dir


def test_cri025_raw_socket(writable_copy):
    """tcp copy, files.img decoded, the TCP socket turned into a raw ICMP socket (SOCK_RAW), encoded again."""
    d = writable_copy("tcp")

    def to_raw(fe):
        if not fe.HasField("isk"):
            return False
        fe.isk.type, fe.isk.proto, fe.isk.state, fe.isk.dst_port, fe.isk.src_port = 3, 1, 7, 0, 0

    edit(d, "files.img", to_raw)
    got = found(d, UNPRIV, "CRI025", "error")
    assert got and got[0].fd == 3
    assert not found(d, unpriv(caps=frozenset({"NET_RAW"})), "CRI025")
    assert not found(corpus_dir("tcp"), UNPRIV, "CRI025")
