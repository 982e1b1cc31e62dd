"""CRI009 (ghost_files): on a real corpus checkpoint or on a copy of one changed by
decode -> change -> encode (each such test says so in its docstring)."""

from __future__ import annotations

from tests.checks.rule_fixtures import ROOT, UNPRIV, edit, found
from tests.conftest import corpus_dir


def test_cri009_ghost_file():
    got = found(corpus_dir("ghost"), UNPRIV, "CRI009", "error")
    assert got and got[0].fd == 3 and got[0].details["ghost_path"] == "/tmp/criu-work/data/ghost/ghost.txt.cr.1.ghost"
    assert {f.severity for f in found(corpus_dir("ghost"), ROOT, "CRI009")} == {"info"}
    assert not found(corpus_dir("plain"), UNPRIV, "CRI009")


def test_cri009_ghost_ids_are_hex(writable_copy):
    """ghost copy: remap-fpath.img decoded, the ghost's remap_id set to 26, encoded again, and
    ghost-file-1.img renamed to ghost-file-1a.img: CRIU names ghost images "ghost-file-%x" (image-desc.c) and
    the re-created file "%s.cr.%x.ghost" (files-reg.c ghost_path()), both in hex."""
    d = writable_copy("ghost")
    edit(d, "remap-fpath.img", lambda r: setattr(r, "remap_id", 26))
    (d / "ghost-file-1.img").rename(d / "ghost-file-1a.img")
    got = found(d, UNPRIV, "CRI009", "error")
    assert got and got[0].image == "ghost-file-1a.img" and got[0].details["owner"] == 0
    assert got[0].details["ghost_path"].endswith(".cr.1a.ghost")
