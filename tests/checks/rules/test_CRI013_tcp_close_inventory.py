"""CRI013 (tcp_close_inventory): on a real corpus checkpoint or on a copy of one changed by
decode -> change -> encode (each such test says so in its docstring)."""

from __future__ import annotations

from inspector.checks.base import Target
from tests.checks.rule_fixtures import ROOT, edit, found
from tests.conftest import corpus_dir


def test_cri013_inventory_tcp_close(writable_copy):
    """plain-devnull copy, inventory.img decoded, tcp_close set (as a --tcp-close dump does), encoded again."""
    d = writable_copy("plain-devnull")
    edit(d, "inventory.img", lambda inv: setattr(inv, "tcp_close", True))
    got = found(d, ROOT, "CRI013", "error")
    assert got and got[0].criu_error == "Need to set the --tcp-close options."
    assert {f.severity for f in found(d, Target(kind="root", tcp_close=True), "CRI013")} == {"info"}
    assert not found(corpus_dir("plain-devnull"), ROOT, "CRI013")
