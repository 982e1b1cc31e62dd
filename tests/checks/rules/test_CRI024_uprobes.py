"""CRI024 (uprobes): on a real corpus checkpoint or on a copy of one changed by
decode -> change -> encode (each such test says so in its docstring)."""

from __future__ import annotations

from tests.checks.rule_fixtures import UNPRIV, edit, found, unpriv
from tests.conftest import corpus_dir


def test_cri024_uprobes(writable_copy):
    """pair-2 copy, inventory.img decoded, allow_uprobes set, encoded again."""
    d = writable_copy("pair-2")
    edit(d, "inventory.img", lambda inv: setattr(inv, "allow_uprobes", True))
    assert found(d, UNPRIV, "CRI024", "error")
    assert {f.severity for f in found(d, unpriv(allow_uprobes=True), "CRI024")} == {"info"}
    assert not found(corpus_dir("pair-2"), UNPRIV, "CRI024")
