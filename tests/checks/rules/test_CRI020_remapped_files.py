"""CRI020 (remapped_files): on a real corpus checkpoint or on a copy of one changed by
decode -> change -> encode (each such test says so in its docstring)."""

from __future__ import annotations

from tests.checks.rule_fixtures import UNPRIV, edit, found
from tests.conftest import corpus_dir


def test_cri020_linked_remap(writable_copy):
    """ghost copy, remap-fpath.img decoded, remap_type GHOST changed to LINKED, encoded again."""
    d = writable_copy("ghost")
    edit(d, "remap-fpath.img", lambda m: setattr(m, "remap_type", 0))
    got = found(d, UNPRIV, "CRI020", "warning")
    assert got and got[0].details["remap"] == "LINKED" and got[0].details["path"].endswith("ghost.txt")
    assert not found(corpus_dir("ghost"), UNPRIV, "CRI020")
