"""CRI023 (plugins): on a real corpus checkpoint or on a copy of one changed by
decode -> change -> encode (each such test says so in its docstring)."""

from __future__ import annotations

from tests.checks.rule_fixtures import UNPRIV, edit, found
from tests.conftest import corpus_dir


def test_cri023_plugins(writable_copy):
    """pair-1 copy, inventory.img decoded, amdgpu_plugin added to plugins_entry, encoded again."""
    d = writable_copy("pair-1")
    edit(d, "inventory.img", lambda inv: inv.plugins_entry.plugins.append("amdgpu_plugin"))
    got = found(d, UNPRIV, "CRI023", "warning")
    assert got and got[0].criu_error == "Missing required plugin: amdgpu_plugin"
    assert not found(corpus_dir("pair-1"), UNPRIV, "CRI023")  # empty plugins_entry
