"""CRI018 (seccomp): on a real corpus checkpoint or on a copy of one changed by
decode -> change -> encode (each such test says so in its docstring)."""

from __future__ import annotations

from tests.checks.rule_fixtures import ROOT, UNPRIV, edit, found, unpriv
from tests.conftest import corpus_dir


def test_cri018_seccomp(writable_copy):
    """unpriv-plain / unpriv-plain-nnp copies, core-N.img decoded, seccomp_mode set to filter (2) or strict (1),
    encoded again. criu installs filters before the task's own no_new_privs is back, so nnp does not help."""
    d = writable_copy("unpriv-plain")
    edit(d, "core-20458.img", lambda c: setattr(c.thread_core, "seccomp_mode", 2))
    got = found(d, UNPRIV, "CRI018", "error")
    assert got and got[0].details["mode"] == "filter" and got[0].details["no_new_privs"] is False
    assert got[0].criu_error == "seccomp: SECCOMP_SET_MODE_FILTER returned -13 on tid 20458"
    assert not found(d, ROOT, "CRI018", "error")
    assert not found(d, unpriv(caps=frozenset({"SYS_ADMIN"})), "CRI018", "error")
    n = writable_copy("unpriv-plain-nnp")
    edit(n, "core-20817.img", lambda c: setattr(c.thread_core, "seccomp_mode", 2))
    assert found(n, UNPRIV, "CRI018", "error")
    edit(n, "core-20817.img", lambda c: setattr(c.thread_core, "seccomp_mode", 1))
    assert {f.severity for f in found(n, UNPRIV, "CRI018")} == {"info"}  # strict mode needs no privilege
    assert not found(corpus_dir("unpriv-plain"), UNPRIV, "CRI018")
