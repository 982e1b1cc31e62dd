"""CRI022 (inventory): on a real corpus checkpoint or on a copy of one changed by
decode -> change -> encode (each such test says so in its docstring)."""

from __future__ import annotations

from tests.checks.rule_fixtures import ROOT, edit, found
from tests.conftest import corpus_dir


def test_cri022_inventory(writable_copy):
    """plain-devnull copy, inventory.img decoded, img_version set to 3, encoded again; and a copy without it."""
    d = writable_copy("plain-devnull")
    edit(d, "inventory.img", lambda inv: setattr(inv, "img_version", 3))
    got = found(d, ROOT, "CRI022", "error")
    assert got and got[0].criu_error == "Not supported images version 3"
    (d / "inventory.img").unlink()
    assert found(d, ROOT, "CRI022", "error")
    assert not found(corpus_dir("plain-devnull"), ROOT, "CRI022")


def test_cri022_failed_dump_has_no_inventory():
    """A real failed dump from the corpus (_failed-dumps/tty-noshelljob): images but no inventory.img."""
    d = corpus_dir("_failed-dumps/tty-noshelljob")
    got = found(d, ROOT, "CRI022", "error")
    assert got and "did not finish" in got[0].fix
