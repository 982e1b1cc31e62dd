"""CRI012 (tcp_connections): on a real corpus checkpoint or on a copy of one changed by
decode -> change -> encode (each such test says so in its docstring)."""

from __future__ import annotations

from inspector.checks.base import Target
from tests.checks.rule_fixtures import UNPRIV, found, unpriv
from tests.conftest import corpus_dir


def test_cri012_tcp_connection():
    tcp = corpus_dir("tcp")
    got = found(tcp, UNPRIV, "CRI012", "error")
    assert got and got[0].fd == 3 and got[0].details["dst"] == "127.0.0.1:23456"
    assert got[0].criu_error == "inet: Connected TCP socket in image"
    no_admin = found(tcp, unpriv(caps=frozenset(), tcp_established=True), "CRI012", "error")
    assert no_admin and no_admin[0].criu_error == "Can't turn TCP repair mode ON: Operation not permitted"
    closed = found(tcp, unpriv(tcp_close=True), "CRI012")
    assert [f.severity for f in closed] == ["warning"] and "next write fails (EPIPE)" in closed[0].message
    assert {f.severity for f in found(tcp, Target(kind="root", tcp_established=True), "CRI012")} == {"info"}
