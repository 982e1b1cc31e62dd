"""CRI008 (file_access): on a real corpus checkpoint or on a copy of one changed by
decode -> change -> encode (each such test says so in its docstring)."""

from __future__ import annotations

from tests.checks.rule_fixtures import ROOT, UNPRIV, edit, found, unpriv
from tests.conftest import corpus_dir


def test_cri008_files_the_user_cannot_reopen():
    got = found(corpus_dir("plain"), UNPRIV, "CRI008", "error")
    assert {(f.fd, f.details["path"]) for f in got} == {
        (1, "/tmp/criu-work/data/plain/out"),
        (2, "/tmp/criu-work/data/plain/err"),
    }
    assert all(f.details["access"] == "w" for f in got)
    ghost = found(corpus_dir("ghost"), UNPRIV, "CRI008", "error")
    assert any(f.details["path"].endswith("mapped.bin") and f.details["access"] == "rw" for f in ghost)
    # the same kind of file, dumped by its owner uid 1001 and restored by uid 1001: fine
    assert not found(corpus_dir("unpriv-plain"), UNPRIV, "CRI008")
    assert not found(corpus_dir("plain"), ROOT, "CRI008")
    assert not found(corpus_dir("plain"), unpriv(caps=frozenset({"DAC_OVERRIDE"})), "CRI008")


def test_cri008_working_directory(writable_copy):
    """plain-devnull copy, files.img decoded, the mode of its cwd (/tmp/criu-work, file id 6) set to 0700,
    encoded again: criu reopens the cwd by path, so uid 1001 cannot."""
    d = writable_copy("plain-devnull")
    edit(d, "files.img", lambda fe: setattr(fe.reg, "mode", 0o40700) if fe.id == 6 else False)
    got = found(d, UNPRIV, "CRI008", "error")
    assert [(f.details["path"], f.details["mode"]) for f in got] == [("/tmp/criu-work", "0700")]
    assert not found(corpus_dir("plain-devnull"), UNPRIV, "CRI008")
